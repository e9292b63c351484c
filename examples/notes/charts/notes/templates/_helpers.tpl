{{- define "notes.labels" -}}
app.kubernetes.io/part-of: notes
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "notes.storeURL" -}}
http://notes-store-0.notes-store:9090
{{- end -}}
