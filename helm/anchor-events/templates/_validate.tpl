{{/* Refuses combinations of values that would render a processor that cannot start. */}}
{{- define "anchor-events.validate" -}}
{{- $c := .Values.config }}
{{- $s := .Values.secrets }}
{{- $kafka := $c.event.queue.kafka }}
{{- if and (include "anchor-events.usesSigningSeed" .) (not $s.signingSeed.existingSecret) }}
{{- fail "secrets.signingSeed.existingSecret is required when config.event_processor.client_status_callback.enabled is true (the SEP-10 seed signs every wallet callback)" }}
{{- end }}
{{- if and $c.event_processor.callback_api_request.enabled (not $c.callback_api.base_url) }}
{{- fail "config.callback_api.base_url is required when config.event_processor.callback_api_request.enabled is true" }}
{{- end }}
{{- if and (include "anchor-events.usesCallbackApiSecret" .) (not $s.callbackApi.existingSecret) }}
{{- fail (printf "secrets.callbackApi.existingSecret is required with config.callback_api.auth.type %s" $c.callback_api.auth.type) }}
{{- end }}
{{- if include "anchor-events.usesKafkaSasl" . }}
{{- if not $kafka.sasl_mechanism }}
{{- fail (printf "config.event.queue.kafka.sasl_mechanism is required with security_protocol %s" $kafka.security_protocol) }}
{{- end }}
{{- if not $s.kafkaSasl.existingSecret }}
{{- fail (printf "secrets.kafkaSasl.existingSecret is required with security_protocol %s" $kafka.security_protocol) }}
{{- end }}
{{- end }}
{{- if and $s.kafkaTls.existingSecret (not (has $kafka.security_protocol (list "SSL" "SASL_SSL"))) }}
{{- fail (printf "secrets.kafkaTls is set but config.event.queue.kafka.security_protocol %s does not use TLS" $kafka.security_protocol) }}
{{- end }}
{{- if ne (empty $s.kafkaTls.certificateKey) (empty $s.kafkaTls.keyKey) }}
{{- fail "secrets.kafkaTls.certificateKey and keyKey go together (mutual TLS needs both)" }}
{{- end }}
{{- if and $s.callbackApiClientCert.existingSecret (eq $s.callbackApiClientCert.certificateKey $s.callbackApiClientCert.keyKey) }}
{{- fail "secrets.callbackApiClientCert.certificateKey and keyKey must be different keys" }}
{{- end }}
{{- if and $s.signingSeedPrevious.existingSecret (not (include "anchor-events.usesSigningSeed" .)) }}
{{- fail "secrets.signingSeedPrevious is only used with wallet callbacks (config.event_processor.client_status_callback.enabled)" }}
{{- end }}
{{- if and (eq .Values.clients.source "existingConfigMap") (not .Values.clients.existingConfigMap.name) }}
{{- fail "clients.existingConfigMap.name is required with clients.source existingConfigMap" }}
{{- end }}
{{- if and (eq .Values.clients.source "operator") (not .Values.operator.enabled) }}
{{- fail "clients.source operator needs operator.enabled (the operator renders the clients file)" }}
{{- end }}
{{- if and .Values.operator.enabled (ne .Values.clients.source "operator") }}
{{- fail (printf "operator.enabled needs clients.source operator (it is %s; the operator would overwrite that ConfigMap)" .Values.clients.source) }}
{{- end }}
{{- if has (include "anchor-events.clientSecretsSecret" .) .Values.operator.secretNames }}
{{- fail (printf "operator.secretNames cannot name %s: the operator writes that Secret (the copies of the clients' keys); name the Secrets CallbackClients reference" (include "anchor-events.clientSecretsSecret" .)) }}
{{- end }}
{{- if hasKey .Values.clients.extraFiles "clients.yaml" }}
{{- fail "clients.extraFiles cannot hold clients.yaml (that is clients.items)" }}
{{- end }}
{{- if and (ne .Values.clients.source "values") (or .Values.clients.items .Values.clients.extraFiles) }}
{{- fail (printf "clients.items and clients.extraFiles are only used with clients.source values (it is %s)" .Values.clients.source) }}
{{- end }}
{{- end }}
