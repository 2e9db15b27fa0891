// monitoringcheck decodes Prometheus Operator objects (ServiceMonitor, PodMonitor, PrometheusRule)
// strictly into the operator's own Go types: an unknown field, a misspelt key or a wrong type
// fails. The Kubernetes schemas that kubernetes-validate bundles do not know these kinds.
//
//	monitoringcheck FILE...   each FILE holds one object (JSON or YAML); exit 1 on any problem
package main

import (
	"fmt"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func check(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var meta typeMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return err
	}
	if meta.APIVersion != monitoringv1.SchemeGroupVersion.String() {
		return fmt.Errorf("apiVersion %q is not %s", meta.APIVersion, monitoringv1.SchemeGroupVersion)
	}
	var object any
	switch meta.Kind {
	case monitoringv1.ServiceMonitorsKind:
		object = &monitoringv1.ServiceMonitor{}
	case monitoringv1.PodMonitorsKind:
		object = &monitoringv1.PodMonitor{}
	case monitoringv1.PrometheusRuleKind:
		object = &monitoringv1.PrometheusRule{}
	default:
		return fmt.Errorf("kind %q is not checked here", meta.Kind)
	}
	return yaml.UnmarshalStrict(data, object)
}

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Printf("%s: %v\n", path, err)
			failed = true
		} else {
			fmt.Printf("%s: ok\n", path)
		}
	}
	if failed {
		os.Exit(1)
	}
}
