{{/* Names. */}}
{{- define "uptimatum.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "uptimatum.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "uptimatum.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels: common ones, and the selector of one component (api, checker, migrate). */}}
{{- define "uptimatum.labels" -}}
helm.sh/chart: {{ include "uptimatum.chart" . }}
app.kubernetes.io/name: {{ include "uptimatum.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: uptimatum
{{- end }}

{{- define "uptimatum.selectorLabels" -}}
app.kubernetes.io/name: {{ include "uptimatum.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "uptimatum.componentLabels" -}}
{{ include "uptimatum.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "uptimatum.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "uptimatum.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "uptimatum.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secrets: the chart's own, the hook copy the migration Job reads, or the user's. */}}
{{- define "uptimatum.secretName" -}}
{{- default (include "uptimatum.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "uptimatum.migrateSecretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- printf "%s-migrate" (include "uptimatum.fullname" .) }}
{{- end }}
{{- end }}

{{/* "parts" when the database is given as DB_* parts (host set), else "url". */}}
{{- define "uptimatum.databaseMode" -}}
{{- if and (not .Values.database.url) .Values.database.host }}parts{{ else }}url{{ end }}
{{- end }}

{{- define "uptimatum.databaseConfigured" -}}
{{- if or .Values.database.url .Values.database.host .Values.existingSecret }}true{{ end }}
{{- end }}

{{/*
The admin token the chart's Secret holds: the one given in values, else the one
the existing Secret already holds (so upgrades keep it), else a new one.
Takes (dict "root" $ "existing" <lookup result>).
*/}}
{{- define "uptimatum.adminToken" -}}
{{- $existing := .existing | default dict }}
{{- $data := get $existing "data" | default dict }}
{{- if .root.Values.adminToken }}
{{- .root.Values.adminToken }}
{{- else if hasKey $data "admin-token" }}
{{- get $data "admin-token" | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}

{{/*
Database variables from the Secret (DATABASE_URL, or DB_PASSWORD beside the parts).
Takes (dict "root" $ "secret" <secret name>).
*/}}
{{- define "uptimatum.databaseSecretEnv" -}}
{{- $v := .root.Values }}
{{- $parts := eq (include "uptimatum.databaseMode" .root) "parts" }}
{{- $name := ternary "DB_PASSWORD" "DATABASE_URL" $parts }}
{{- $key := "" }}
{{- if $v.existingSecret }}
{{- $key = ternary $v.existingSecretKeys.databasePassword $v.existingSecretKeys.databaseUrl $parts }}
{{- else if and $parts $v.database.password }}
{{- $key = "database-password" }}
{{- else if and (not $parts) $v.database.url }}
{{- $key = "database-url" }}
{{- end }}
{{- if $key }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $key }}
{{- end }}
{{- end }}

{{/* The checksum that rolls the pods when a secret input changes (a generated token never does). */}}
{{- define "uptimatum.secretChecksum" -}}
{{- $v := .Values }}
{{- list $v.database.url $v.database.password $v.adminToken $v.existingSecret $v.existingSecretKeys | toJson | sha256sum }}
{{- end }}

{{/* Pod pieces shared by every workload. */}}
{{- define "uptimatum.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{- define "uptimatum.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "uptimatum.topologySpread" -}}
{{- if .spread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ .spread.maxSkew }}
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ .spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "uptimatum.selectorLabels" . | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end }}
