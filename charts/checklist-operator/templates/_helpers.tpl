{{/* Names and labels shared by every template of the chart. */}}

{{/* The chart's name, or nameOverride. */}}
{{- define "checklist-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: fullnameOverride, else the release name when it already contains the
chart's name, else "<release>-<chart>". Cut to 63 characters, the limit of a DNS label.
*/}}
{{- define "checklist-operator.fullname" -}}
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

{{/* "<chart>-<version>", for the helm.sh/chart label. */}}
{{- define "checklist-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels every object carries. */}}
{{- define "checklist-operator.labels" -}}
helm.sh/chart: {{ include "checklist-operator.chart" . }}
{{ include "checklist-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The labels the Deployment selects its pods by; never change them between versions. */}}
{{- define "checklist-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "checklist-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "checklist-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "checklist-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator's image reference; the tag defaults to the chart's appVersion. */}}
{{- define "checklist-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
What the operator does in a namespace that holds DeploymentChecklists, and nothing more: the
rules of the ClusterRole (every namespace) or of the Role in watchNamespace. Each rule says which
part of the reconcile needs it (README.md has the same as a table).
*/}}
{{- define "checklist-operator.workloadRules" -}}
# The resource itself: listed and watched (observe), read again when the watch cache is behind
# the operator's own last status write. Never written: the spec is the user's.
- apiGroups: ["checklist.dev"]
  resources: ["deploymentchecklists"]
  verbs: ["get", "list", "watch"]
# Its status, written by server-side apply (record).
- apiGroups: ["checklist.dev"]
  resources: ["deploymentchecklists/status"]
  verbs: ["patch"]
# The check templates of the namespace a checklist names: read (observe) and watched by metadata
# (a change re-verifies their users). Never written.
- apiGroups: ["checklist.dev"]
  resources: ["checklisttemplates"]
  verbs: ["get", "list", "watch"]
# The app's Deployments: read (observe; BlueGreen and Canary list one per revision), watched as
# owned objects, written by server-side apply with owner references (act: patch, and create,
# which an apply that creates needs); a rollback applies the stable template the same way.
# BlueGreen and Canary delete the Deployment of the revision that lost (the old one after a
# switch, the new one after a failure). spec.app.adopt: the adopted Deployment is read until
# its hand-over, then scaled to 0 by a merge patch or deleted, once.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The app's Service and the preview or canary Service: watched as owned objects, read (BlueGreen
# and Canary: which revision each selects, and whether a preview name belongs to someone else),
# written by server-side apply. spec.app.adopt: listed until the hand-over, to find the Services
# that reach the adopted pods.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch"]
# spec.rollout.trafficRouting: the user's HTTPRoute, read, and patched in two weights and one
# rule of the operator's own (never created or deleted).
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "patch"]
# spec.app.disruptionBudget and spec.app.autoscaling: the PodDisruptionBudget and the
# HorizontalPodAutoscaler named like the checklist, read (observe), written by server-side apply
# over the serving pods, deleted when the spec no longer asks for them. Never listed or watched.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "create", "patch", "delete"]
# Crash-loop detection: the deployed revision's pods, listed, and watched by metadata.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# The migration Job (<name>-migrate-<hash>) and the down-migration on rollback: read, watched,
# created once by name; deleted for a retry and with a pruned revision.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
# The secret contract: keys are checked for presence, length and pattern. Read-only; values are
# never logged or written anywhere. Secrets reach the app through envFrom, not through the operator.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
# spec.app.rollOnChange: a ConfigMap's change of resourceVersion rolls a new revision. Watched
# and read by metadata only; never written.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
# Revision history: each revision's spec is stored in a ControllerRevision (server-side apply)
# so the stable one can be rebuilt on rollback; listed and deleted past
# spec.rollback.revisionHistoryLimit.
- apiGroups: ["apps"]
  resources: ["controllerrevisions"]
  verbs: ["get", "list", "create", "patch", "delete"]
# Events on phase transitions (record), each created once.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
