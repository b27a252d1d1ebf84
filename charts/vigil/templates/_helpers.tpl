{{/*
Names. Kubernetes names and label values are limited to 63 characters, so
every name is truncated, with a trailing "-" trimmed.
*/}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
A component's resource name: (dict "ctx" $ "component" "watcher"). The prefix
is cut to 40 characters so that the longest suffix (21) still fits in 63.
*/}}
{{- define "vigil.componentName" -}}
{{- printf "%s-%s" (include "vigil.fullname" .ctx | trunc 40 | trimSuffix "-") .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of a component: (dict "ctx" $ "component" "watcher") */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of a component's objects: (dict "ctx" $ "component" "watcher") */}}
{{- define "vigil.labels" -}}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: vigil
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "vigil.chart" .ctx }}
{{- end -}}

{{/* Labels of release-wide objects (no component). */}}
{{- define "vigil.commonLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: vigil
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "vigil.chart" . }}
{{- end -}}

{{/* The release's pods, any component (for NetworkPolicy selectors). */}}
{{- define "vigil.instanceSelector" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "vigil.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "vigil.postgresName" -}}
{{- include "vigil.componentName" (dict "ctx" . "component" "postgres") -}}
{{- end -}}

{{/* The Secret and key holding the database password, or nothing. */}}
{{- define "vigil.databasePasswordSecret" -}}
{{- if .Values.postgresql.enabled -}}
{{- default (include "vigil.postgresName" .) .Values.postgresql.auth.existingSecret -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{/*
Database environment of every Vigil container. The password is never in the
URL: node-postgres reads PGPASSWORD, so it needs no URL-encoding and stays in
its Secret.
*/}}
{{- define "vigil.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s@%s:5432/%s" .Values.postgresql.auth.username (include "vigil.postgresName" .) .Values.postgresql.auth.database | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.databasePasswordSecret" . }}
      key: password
{{- else }}
{{- if .Values.externalDatabase.urlKey }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "externalDatabase.existingSecret is required with externalDatabase.urlKey" .Values.externalDatabase.existingSecret }}
      key: {{ .Values.externalDatabase.urlKey }}
{{- else }}
- name: DATABASE_URL
  value: {{ required "set externalDatabase.url (or externalDatabase.existingSecret + urlKey) when postgresql.enabled is false" .Values.externalDatabase.url | quote }}
{{- if .Values.externalDatabase.existingSecret }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalDatabase.existingSecret }}
      key: {{ .Values.externalDatabase.passwordKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The external database's CA bundle (externalDatabase.tls.caConfigMap, key ca.pem)
as a volume and its mount at /etc/vigil/db-ca, the path a URL names with
sslrootcert=/etc/vigil/db-ca/ca.pem; both empty without it.
*/}}
{{- define "vigil.databaseCAVolume" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.tls.caConfigMap }}
- name: db-ca
  configMap:
    name: {{ .Values.externalDatabase.tls.caConfigMap }}
{{- end }}
{{- end -}}

{{- define "vigil.databaseCAVolumeMount" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.tls.caConfigMap }}
- name: db-ca
  mountPath: /etc/vigil/db-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Environment shared by every Vigil service container. */}}
{{- define "vigil.commonEnv" -}}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{ include "vigil.databaseEnv" . }}
{{- end -}}

{{/* The ops port and pod identity of the workers (the api sets its OPS_PORT itself and needs no POD_NAME). */}}
{{- define "vigil.workerEnv" -}}
- name: OPS_PORT
  value: "9090"
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end -}}

{{/* NAME=value env entries for the non-empty values of a map: (dict "NAME" value ...) */}}
{{- define "vigil.optionalEnv" -}}
{{- range $name, $value := . }}
{{- if ne (toString $value) "" }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* SSRF guard settings of the prober and the alerter; unset lists keep the built-in deny list. */}}
{{- define "vigil.ssrfEnv" -}}
- name: SSRF_GUARD
  value: {{ .Values.ssrf.enabled | quote }}
{{- include "vigil.optionalEnv" (dict "SSRF_DENY_CIDRS" (join "," .Values.ssrf.denyCidrs) "SSRF_DENY_CIDRS_REPLACE_DEFAULTS" (join "," .Values.ssrf.denyCidrsReplaceDefaults) "SSRF_ALLOW_CIDRS" (join "," .Values.ssrf.allowCidrs)) }}
{{- end -}}

{{/* Pod-level security context of every Vigil pod (restricted Pod Security). */}}
{{- define "vigil.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context of every container in the chart. */}}
{{- define "vigil.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The init container that waits for Postgres and applies the migrations. The
migrator takes an advisory lock, so every replica of every service may run it
at once: each migration is applied once, the others wait and find nothing to do.
*/}}
{{- define "vigil.migrateInitContainer" -}}
- name: migrate
  image: {{ include "vigil.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  # Node, not a shell: the image has none.
  command:
    - node
    - --input-type=module
    - -e
    - |
      // Runs `node libs/db/dist/migrate-cli.js` until it succeeds (Postgres may still be starting).
      import { spawnSync } from 'node:child_process';
      for (let attempt = 1; ; attempt++) {
        if (spawnSync(process.execPath, ['libs/db/dist/migrate-cli.js'], { stdio: 'inherit' }).status === 0) process.exit(0);
        if (attempt >= {{ .Values.migrations.attempts }}) {
          console.error('migrations failed {{ .Values.migrations.attempts }} times, giving up');
          process.exit(1);
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
  env:
    - name: LOG_LEVEL
      value: {{ .Values.logLevel | quote }}
    {{- include "vigil.databaseEnv" . | nindent 4 }}
  resources:
    {{- toYaml .Values.migrations.resources | nindent 4 }}
  securityContext:
    {{- include "vigil.containerSecurityContext" . | nindent 4 }}
  {{- with include "vigil.databaseCAVolumeMount" . }}
  volumeMounts:
    {{- . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Scheduling settings shared by the Vigil pods: (dict "ctx" $ "component" "watcher") */}}
{{- define "vigil.podScheduling" -}}
{{- $ctx := .ctx -}}
{{- with $ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if $ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range $ctx.Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "vigil.selectorLabels" (dict "ctx" $ctx "component" $.component) | nindent 8 }}
    matchLabelKeys: [pod-template-hash]
  {{- end }}
{{- end }}
{{- end -}}

{{/* Liveness and readiness probes on a port name. */}}
{{- define "vigil.healthProbes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ . }}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
startupProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 2
  failureThreshold: 30
{{- end -}}

