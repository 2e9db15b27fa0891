{{/* Names, labels and the wiring shared by the templates. */}}

{{- define "anchor-events.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The object name prefix: <release>-<chart>, or <release> when it already has the chart name. */}}
{{- define "anchor-events.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "anchor-events.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name, instance and component only. Call with (dict "ctx" $ "component" "processor"). */}}
{{- define "anchor-events.selectorLabels" -}}
app.kubernetes.io/name: {{ include "anchor-events.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of an object. Call with (dict "ctx" $ "component" "processor"). */}}
{{- define "anchor-events.labels" -}}
helm.sh/chart: {{ include "anchor-events.chart" .ctx }}
{{ include "anchor-events.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: anchor-events
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{- define "anchor-events.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "anchor-events.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "anchor-events.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "anchor-events.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (printf "%s-operator" (include "anchor-events.fullname" .)) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "anchor-events.managementPort" -}}
{{- .Values.config.event_processor.management_server_port | int }}
{{- end }}

{{/* The clients ConfigMap the processor mounts, and the key of the clients file in it. */}}
{{- define "anchor-events.clientsConfigMap" -}}
{{- if eq .Values.clients.source "existingConfigMap" }}
{{- .Values.clients.existingConfigMap.name }}
{{- else }}
{{- printf "%s-clients" (include "anchor-events.fullname" .) }}
{{- end }}
{{- end }}

{{- define "anchor-events.clientsKey" -}}
{{- if eq .Values.clients.source "existingConfigMap" }}
{{- .Values.clients.existingConfigMap.key }}
{{- else }}
{{- "clients.yaml" }}
{{- end }}
{{- end }}

{{/* Where the processor mounts the clients ConfigMap (a directory; clients.value is a file in it). */}}
{{- define "anchor-events.clientsDir" -}}
/etc/anchor-events/clients
{{- end }}

{{/*
The Secret the operator copies CallbackClients' client certificates, keys and webhook secrets
into (OPERATOR_CLIENT_SECRETS_SECRET), where the processor mounts it, and that place relative to
the clients file's folder (OPERATOR_CLIENT_SECRETS_DIR, what the clients file's items name).
*/}}
{{- define "anchor-events.clientSecretsSecret" -}}
{{- printf "%s-client-secrets" (include "anchor-events.fullname" .) }}
{{- end }}

{{- define "anchor-events.clientSecretsMountPath" -}}
/etc/anchor-events/client-secrets
{{- end }}

{{- define "anchor-events.clientSecretsRelativeDir" -}}
../client-secrets
{{- end }}

{{- define "anchor-events.leaseName" -}}
{{- printf "%s-operator" (include "anchor-events.fullname" .) }}
{{- end }}

{{/* Whether each secret is in use with the configuration given. */}}
{{- define "anchor-events.usesSigningSeed" -}}
{{- if .Values.config.event_processor.client_status_callback.enabled }}true{{ end }}
{{- end }}

{{- define "anchor-events.usesCallbackApiSecret" -}}
{{- if and .Values.config.event_processor.callback_api_request.enabled (ne .Values.config.callback_api.auth.type "none") }}true{{ end }}
{{- end }}

{{- define "anchor-events.usesKafkaSasl" -}}
{{- if hasPrefix "SASL_" .Values.config.event.queue.kafka.security_protocol }}true{{ end }}
{{- end }}

{{/*
The secrets the processor reads, as a list of dicts: env (the setting's environment name), secret,
key, volume and dir (where file mode mounts it). The volume and the variable exist only for
secrets in use.
*/}}
{{- define "anchor-events.secretFiles" -}}
{{- $s := .Values.secrets }}
{{- $list := list }}
{{- if include "anchor-events.usesSigningSeed" . }}
{{- $list = append $list (dict "env" "SECRET_SEP10_SIGNING_SEED" "secret" $s.signingSeed.existingSecret "key" $s.signingSeed.key "volume" "signing-seed") }}
{{- if $s.signingSeedPrevious.existingSecret }}
{{- $list = append $list (dict "env" "SECRET_SEP10_SIGNING_SEED_PREVIOUS" "secret" $s.signingSeedPrevious.existingSecret "key" $s.signingSeedPrevious.key "volume" "signing-seed-previous") }}
{{- end }}
{{- end }}
{{- if include "anchor-events.usesCallbackApiSecret" . }}
{{- $list = append $list (dict "env" "CALLBACK_API_SECRET" "secret" $s.callbackApi.existingSecret "key" $s.callbackApi.key "volume" "callback-api-secret") }}
{{- end }}
{{- if include "anchor-events.usesKafkaSasl" . }}
{{- $list = append $list (dict "env" "EVENT_QUEUE_KAFKA_SASL_USERNAME" "secret" $s.kafkaSasl.existingSecret "key" $s.kafkaSasl.usernameKey "volume" "kafka-sasl-username") }}
{{- $list = append $list (dict "env" "EVENT_QUEUE_KAFKA_SASL_PASSWORD" "secret" $s.kafkaSasl.existingSecret "key" $s.kafkaSasl.passwordKey "volume" "kafka-sasl-password") }}
{{- end }}
{{- if and $s.kafkaTls.existingSecret $s.kafkaTls.keyPasswordKey }}
{{- $list = append $list (dict "env" "EVENT_QUEUE_KAFKA_SSL_KEY_PASSWORD" "secret" $s.kafkaTls.existingSecret "key" $s.kafkaTls.keyPasswordKey "volume" "kafka-ssl-key-password") }}
{{- end }}
{{- toJson $list }}
{{- end }}

{{/* Label matchers of the alert expressions. */}}
{{- define "anchor-events.alertSelector" -}}
{{- if .Values.monitoring.prometheusRule.selector }}
{{- .Values.monitoring.prometheusRule.selector }}
{{- else }}
{{- printf "namespace=%q, job=%q" .Release.Namespace (include "anchor-events.fullname" .) }}
{{- end }}
{{- end }}

{{/* The operator's Deployment: OPERATOR_OWNER_DEPLOYMENT, the clients ConfigMap's owner. */}}
{{- define "anchor-events.operatorDeploymentName" -}}
{{- printf "%s-operator" (include "anchor-events.fullname" .) }}
{{- end }}
