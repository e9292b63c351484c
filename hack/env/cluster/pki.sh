#!/usr/bin/env bash
# Certificates and kubeconfigs of the cluster (sourced by ../cluster.sh).
# Everything is generated with openssl into a fresh directory that replaces
# $KC_PKI only once complete, so a run killed half-way leaves either the old
# set or none, never a mix; a set made for another host name is replaced.

# _kc_pki_ok: true when $KC_PKI is a complete set for this node.
_kc_pki_ok() {
	local f
	[ -f "$KC_PKI/complete" ] || return 1
	[ "$(cat "$KC_PKI/complete")" = "$KC_NODE" ] || return 1
	for f in ca apiserver apiserver-kubelet-client admin kubelet kubelet-serving \
		controller-manager scheduler kube-proxy; do
		[ -s "$KC_PKI/$f.crt" ] && [ -s "$KC_PKI/$f.key" ] || return 1
		openssl x509 -in "$KC_PKI/$f.crt" -noout -checkend 86400 >/dev/null 2>&1 || return 1
	done
	[ -s "$KC_PKI/sa.key" ] && [ -s "$KC_PKI/sa.pub" ]
}

# _kc_sign DIR NAME SUBJECT EXT: a P-256 key and a certificate signed by the CA.
_kc_sign() {
	local dir=$1 name=$2 subj=$3 ext=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "$subj" 2>/dev/null
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
		-extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
	rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# _kc_pki: make the certificates unless a complete set exists.
_kc_pki() {
	_kc_pki_ok && return 0
	local tmp=$KC_PKI.new node=$KC_NODE
	rm -rf "$tmp" "$KC_PKI.old"
	mkdir -p "$tmp"
	chmod 700 "$tmp"
	(
		set -e
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$tmp/ca.key" -out "$tmp/ca.crt" -days 3650 -sha256 \
			-subj "/CN=devloop-env-ca" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
		_kc_sign "$tmp" apiserver "/CN=kube-apiserver" \
			"extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:$node,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,IP:127.0.0.1,IP:$KC_SERVICE_IP"
		_kc_sign "$tmp" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
		_kc_sign "$tmp" admin "/O=system:masters/CN=devloop-env-admin" "extendedKeyUsage=clientAuth"
		_kc_sign "$tmp" kubelet "/O=system:nodes/CN=system:node:$node" "extendedKeyUsage=clientAuth"
		_kc_sign "$tmp" kubelet-serving "/O=system:nodes/CN=system:node:$node" \
			"extendedKeyUsage=serverAuth
subjectAltName=DNS:$node,DNS:localhost,IP:127.0.0.1"
		_kc_sign "$tmp" controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
		_kc_sign "$tmp" scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
		_kc_sign "$tmp" kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/sa.key" 2>/dev/null
		openssl pkey -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" 2>/dev/null
		printf '%s' "$node" >"$tmp/complete"
	) >>"$LOGS/pki.log" 2>&1 || die "generating certificates" "$LOGS/pki.log"
	if [ -d "$KC_PKI" ]; then
		mv "$KC_PKI" "$KC_PKI.old"
	fi
	mv "$tmp" "$KC_PKI"
	rm -rf "$KC_PKI.old"
	# New certificates invalidate every kubeconfig made from the old ones.
	rm -f "$KC_CONF"/*.kubeconfig "$KUBECONFIG_FILE"
}

# _kc_kubeconfig FILE USER CERTNAME: a kubeconfig with embedded credentials,
# written atomically, whose context is $KUBE_CONTEXT.
_kc_kubeconfig() {
	local file=$1 user=$2 cert=$3
	cat >"$file.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $KUBE_CONTEXT
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: $(base64 -w0 <"$KC_PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$KC_PKI/$cert.crt")
    client-key-data: $(base64 -w0 <"$KC_PKI/$cert.key")
contexts:
- name: $KUBE_CONTEXT
  context:
    cluster: $KUBE_CONTEXT
    user: $user
current-context: $KUBE_CONTEXT
KUBECONFIG
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
}

_kc_kubeconfigs() {
	_kc_kubeconfig "$KUBECONFIG_FILE" devloop-env-admin admin
	_kc_kubeconfig "$KC_CONF/kubelet.kubeconfig" "system:node:$KC_NODE" kubelet
	_kc_kubeconfig "$KC_CONF/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
	_kc_kubeconfig "$KC_CONF/scheduler.kubeconfig" system:kube-scheduler scheduler
	_kc_kubeconfig "$KC_CONF/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
}
