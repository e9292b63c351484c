#!/usr/bin/env bash
# make -s env: print the export lines that point a shell at the environment:
#   eval "$(make -s env)"
# Fast and without side effects (beyond creating the layout's directories).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

export_line() {
	printf 'export %s=%q\n' "$1" "$2"
}

# The default engine (lib.sh: DEFAULT_ENGINE), then each engine by version.
export_line DOCKER_HOST "$DOCKER_HOST_URL"
export_line DEVLOOP_DOCKER_HOST_20 "unix://$DOCKER20_SOCK"
export_line DOCKER_CONFIG "$DOCKER_CONFIG_DIR"
export_line KUBECONFIG "$KUBECONFIG_FILE"
export_line DEVLOOP_KUBE_CONTEXT "$KUBE_CONTEXT"
export_line DEVLOOP_REGISTRY "$REGISTRY"
export_line DEVLOOP_BUILDER_MULTI "$BUILDER_MULTI"
export_line DEVLOOP_CONTAINERD_SOCK "$CONTAINERD_SOCK"
export_line DEVLOOP_ENV_STATE "$STATE"
export_line DEVLOOP_ENV_RUN "$RUN"
# $PATH stays literal: it is expanded by the eval.
printf 'export PATH=%q:"$PATH"\n' "$BIN"
if [ -f "$ENV_ROOT/cluster.sh" ]; then
	# shellcheck source=/dev/null
	source "$ENV_ROOT/cluster.sh"
	if declare -F cluster_env >/dev/null; then
		cluster_env
	fi
fi
# shellcheck source=kind.sh
source "$ENV_ROOT/kind.sh"
kind_env
# shellcheck source=engine26.sh
source "$ENV_ROOT/engine26.sh"
engine26_env
# shellcheck source=builders.sh
source "$ENV_ROOT/builders.sh"
builders_env
