{{- define "pm4ml.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pm4ml.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pm4ml.labels" -}}
{{ include "pm4ml.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "pm4ml.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "pm4ml.jwsSecret" -}}
{{ .Values.jws.existingSecret | default (printf "%s-jws" (include "pm4ml.fullname" .)) }}
{{- end -}}

{{- define "pm4ml.peerKeysSecret" -}}
{{ .Values.jws.peerKeysSecret | default (printf "%s-jws-peers" (include "pm4ml.fullname" .)) }}
{{- end -}}

{{- define "pm4ml.ilpSecret" -}}
{{ .Values.ilp.existingSecret | default (printf "%s-ilp" (include "pm4ml.fullname" .)) }}
{{- end -}}

{{- define "pm4ml.databaseSecret" -}}
{{ .Values.database.existingSecret | default (printf "%s-database" (include "pm4ml.fullname" .)) }}
{{- end -}}

{{- define "pm4ml.usesDatabaseSecret" -}}
{{- if or .Values.database.existingSecret .Values.database.url -}}true{{- end -}}
{{- end -}}

{{/* The environment every pm4ml container gets: ConfigMap settings and secrets. */}}
{{- define "pm4ml.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "pm4ml.fullname" . }}
env:
  - name: PM4ML_ILP_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ include "pm4ml.ilpSecret" . }}
        key: ilp-secret
  {{- if include "pm4ml.usesDatabaseSecret" . }}
  - name: PM4ML_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "pm4ml.databaseSecret" . }}
        key: database-url
  {{- end }}
{{- end -}}

{{- define "pm4ml.keyVolumes" -}}
- name: signing-key
  secret:
    secretName: {{ include "pm4ml.jwsSecret" . }}
- name: peer-keys
  secret:
    secretName: {{ include "pm4ml.peerKeysSecret" . }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.dataVolumeSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "pm4ml.keyMounts" -}}
- name: signing-key
  # The whole Secret as a directory (no subPath): a rotated key ring (the key files and
  # signing-key.pem.ring.json) reaches running pods when the Secret is updated.
  mountPath: /keys/signing
  readOnly: true
- name: peer-keys
  mountPath: /keys/peers
  readOnly: true
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "pm4ml.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The migration Job runs only against a shared database; SQLite migrates on start. */}}
{{- define "pm4ml.migrationJob" -}}
{{- if and .Values.migrations.enabled (include "pm4ml.usesDatabaseSecret" .) -}}true{{- end -}}
{{- end -}}
