#!/usr/bin/env bash
# `make smoke`: the 10-step verification of a running Vigil, through its public
# URL and the current kubeconfig — k3d, EKS, or the `make dev` stack.
#
#   tools/smoke.sh [BASE_URL]         run the 10 steps (BASE_URL or $SMOKE_URL)
#   tools/smoke.sh receiver           deploy the smoke webhook receiver (make deploy does)
#   tools/smoke.sh receiver-values    print the --set-json that lists it as a receiver
#   tools/smoke.sh target             deploy web.demo:8080, an in-cluster site to check
#                                     (the local node reaches nothing outside the machine)
#
# Environment (defaults in brackets):
#   SMOKE_URL        base URL of the api, e.g. the ingress          [http://localhost:8080]
#   NAMESPACE        namespace of the Vigil release                 [vigil]
#   RELEASE          Helm release name                              [vigil]
#   SMOKE_PODS       1: check the release's pods (0 when the services
#                    run as processes, as in `make dev`)            [1]
#   SMOKE_NAMESPACE  namespace for the smoke checks and receiver    [vigil-smoke]
#   SMOKE_STREAK     consecutive 200s required through the ingress  [30]
#   SMOKE_TIMEOUT    seconds allowed for each waiting step          [180]
#   SMOKE_UP_URL     a URL that answers 2xx/3xx                     [https://example.com]
#   SMOKE_DOWN_URL   a URL that never answers                       [https://broken.invalid]
#   KUBECTL          kubectl binary                                 [kubectl]
# Needs kubectl, curl and node (the project's Node: `make` puts it on PATH).
set -euo pipefail

SMOKE_URL="${1:-${SMOKE_URL:-http://localhost:8080}}"
SMOKE_URL="${SMOKE_URL%/}"
NAMESPACE="${NAMESPACE:-vigil}"
RELEASE="${RELEASE:-vigil}"
SMOKE_PODS="${SMOKE_PODS:-1}"
SMOKE_NAMESPACE="${SMOKE_NAMESPACE:-vigil-smoke}"
SMOKE_STREAK="${SMOKE_STREAK:-30}"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-180}"
SMOKE_UP_URL="${SMOKE_UP_URL:-https://example.com}"
SMOKE_DOWN_URL="${SMOKE_DOWN_URL:-https://broken.invalid}"
SMOKE_RECEIVER_IMAGE="${SMOKE_RECEIVER_IMAGE:-vigil:dev}"
KUBECTL="${KUBECTL:-kubectl}"

# The smoke receiver's signing secret: a fixed, public test value, used only by
# this receiver for checks in $SMOKE_NAMESPACE.
SMOKE_SECRET="whsec_dmlnaWwtc21va2UtdGVzdC1zZWNyZXQtMzJieXRlcyE="
RECEIVER_URL="http://smoke-receiver.${SMOKE_NAMESPACE}.svc.cluster.local/"

k() { "$KUBECTL" "$@"; }

# --- the smoke webhook receiver ---------------------------------------------

if [[ "${1:-}" == "receiver-values" ]]; then
  printf 'alerter.receivers=[{"name":"smoke","url":"%s","secrets":["%s"],"namespaces":["%s"]}]\n' "$RECEIVER_URL" "$SMOKE_SECRET" "$SMOKE_NAMESPACE"
  exit 0
fi

if [[ "${1:-}" == "receiver" ]]; then
  k create namespace "$SMOKE_NAMESPACE" --dry-run=client -o yaml | k apply -f -
  k label namespace "$SMOKE_NAMESPACE" --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
  # A Standard Webhooks receiver in the Vigil image's Node: it verifies each
  # signature and logs one JSON line per delivery. It listens on port 80
  # (unprivileged, via the namespaced safe sysctl) because the alerter's
  # NetworkPolicy allows receivers on 80/443 and sees the pod port after DNAT.
  k apply -n "$SMOKE_NAMESPACE" -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke-receiver
  labels: {app.kubernetes.io/name: smoke-receiver}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: smoke-receiver}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: smoke-receiver}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile: {type: RuntimeDefault}
        sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}]
      containers:
        - name: receiver
          image: ${SMOKE_RECEIVER_IMAGE}
          imagePullPolicy: IfNotPresent
          env: [{name: SECRET, value: "${SMOKE_SECRET}"}]
          command:
            - node
            - -e
            - |
              const { createServer } = require('node:http');
              const { createHmac, timingSafeEqual } = require('node:crypto');
              const key = Buffer.from(process.env.SECRET.slice('whsec_'.length), 'base64');
              createServer((req, res) => {
                let body = '';
                req.on('data', (c) => (body += c));
                req.on('end', () => {
                  const id = req.headers['webhook-id'], ts = req.headers['webhook-timestamp'];
                  const expected = createHmac('sha256', key).update(id + '.' + ts + '.' + body).digest();
                  const verified = String(req.headers['webhook-signature'] || '').split(' ').some((s) => {
                    const sig = Buffer.from(s.replace(/^v1,/, ''), 'base64');
                    return sig.length === expected.length && timingSafeEqual(sig, expected);
                  });
                  let event = {};
                  try { event = JSON.parse(body); } catch {}
                  console.log(JSON.stringify({ smokeWebhook: true, id, verified, type: event.type, check: event.data && event.data.check }));
                  res.writeHead(verified ? 200 : 401).end();
                });
              }).listen(80);
          ports: [{containerPort: 80, name: http}]
          resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 96Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata:
  name: smoke-receiver
spec:
  selector: {app.kubernetes.io/name: smoke-receiver}
  ports: [{name: http, port: 80, targetPort: http}]
YAML
  exit 0
fi

# --- an in-cluster site to check: web.demo:8080 ------------------------------

if [[ "${1:-}" == "target" ]]; then
  k create namespace demo --dry-run=client -o yaml | k apply -f -
  k label namespace demo --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
  k apply -n demo -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app.kubernetes.io/name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: web}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: web}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: ${SMOKE_RECEIVER_IMAGE}
          imagePullPolicy: IfNotPresent
          command: [node, -e, "require('node:http').createServer((q, r) => r.writeHead(200, {'content-type': 'text/plain'}).end('ok')).listen(8080)"]
          ports: [{containerPort: 8080, name: http}]
          readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2}
          resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 96Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app.kubernetes.io/name: web}
  ports: [{name: http, port: 8080, targetPort: http}]
YAML
  k rollout status deployment/web -n demo --timeout=120s
  exit 0
fi

# --- the 10 steps -------------------------------------------------------------

STEP=0
step() { STEP=$((STEP + 1)); printf '\n[%2d/10] %s\n' "$STEP" "$*"; }
ok() { printf '        ok: %s\n' "$*"; }
fail() { printf '        FAILED: %s\n' "$*" >&2; exit 1; }

# Polls "$@" every 2 s until it succeeds or SMOKE_TIMEOUT passes.
eventually() {
  local deadline=$((SECONDS + SMOKE_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 2
  done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }
is_200() { [[ "$(http_code "$1")" == 200 ]]; }
check_field() { k get uptimecheck "$1" -n "$SMOKE_NAMESPACE" -o jsonpath="{$2}" 2>/dev/null; }
check_state_is() { [[ "$(check_field "$1" .status.state)" == "$2" ]]; }

step "the UptimeCheck CRD is installed and established"
k wait --for=condition=Established crd/uptimechecks.vigil.dev --timeout=10s >/dev/null || fail "no established CRD uptimechecks.vigil.dev in the cluster of $(k config current-context)"
ok "uptimechecks.vigil.dev"

step "every Vigil pod of release $RELEASE in $NAMESPACE is ready"
if [[ "$SMOKE_PODS" == 1 ]]; then
  mapfile -t workloads < <(k get deployments,statefulsets -n "$NAMESPACE" -l "app.kubernetes.io/instance=$RELEASE" -o name)
  components="$(k get deployments -n "$NAMESPACE" -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}{"\n"}{end}' | sort | paste -sd' ' -)"
  [[ "$components" == "alerter api prober watcher" ]] || fail "expected the alerter, api, prober and watcher Deployments, found: ${components:-none}"
  for w in "${workloads[@]}"; do
    k rollout status "$w" -n "$NAMESPACE" --timeout="${SMOKE_TIMEOUT}s" >/dev/null || fail "$w is not ready: kubectl -n $NAMESPACE describe $w"
  done
  ok "${workloads[*]}"
else
  ok "not checked: SMOKE_PODS=0 (the services run as processes, e.g. make dev)"
fi

step "the api is ready through $SMOKE_URL"
eventually is_200 "$SMOKE_URL/readyz" || fail "$SMOKE_URL/readyz answered $(http_code "$SMOKE_URL/readyz")"
ok "/readyz 200"

step "a streak of $SMOKE_STREAK 200s from the status page and the API (one 200 proves little behind a load balancer)"
streak=0 requests=0 deadline=$((SECONDS + SMOKE_TIMEOUT))
while (( streak < SMOKE_STREAK )); do
  (( SECONDS < deadline )) || fail "longest streak $streak of $SMOKE_STREAK after $requests requests"
  path=/; (( requests % 2 )) && path=/api/v1/summary
  code="$(http_code "$SMOKE_URL$path")"
  requests=$((requests + 1))
  if [[ "$code" == 200 ]]; then streak=$((streak + 1)); else streak=0; printf '        %s answered %s, streak reset\n' "$path" "$code"; fi
done
ok "$streak consecutive 200s ($requests requests)"

step "apply two checks in $SMOKE_NAMESPACE: smoke-up ($SMOKE_UP_URL) and smoke-down ($SMOKE_DOWN_URL)"
k create namespace "$SMOKE_NAMESPACE" --dry-run=client -o yaml | k apply -f - >/dev/null
k apply -n "$SMOKE_NAMESPACE" -f - >/dev/null <<YAML
apiVersion: vigil.dev/v1alpha1
kind: UptimeCheck
metadata: {name: smoke-up}
spec: {url: "$SMOKE_UP_URL", interval: 10s, timeout: 5s}
---
apiVersion: vigil.dev/v1alpha1
kind: UptimeCheck
metadata: {name: smoke-down}
spec: {url: "$SMOKE_DOWN_URL", interval: 10s, timeout: 5s}
YAML
ok "applied"

step "their status shows the result: smoke-up is up, smoke-down is down"
eventually check_state_is smoke-up up || fail "smoke-up is '$(check_field smoke-up .status.state)' ($(check_field smoke-up .status.reason) $(check_field smoke-up .status.message))"
eventually check_state_is smoke-down down || fail "smoke-down is '$(check_field smoke-down .status.state)'"
ok "$(k get uptimechecks -n "$SMOKE_NAMESPACE" --no-headers | awk '{print $1, $3, $4, $5}' | paste -sd';' -)"

step "a signed webhook announced smoke-down"
delivered() { [[ "$(check_field smoke-down .status.lastDelivery.event)" == check.down ]]; }
eventually delivered || fail "no delivery recorded in smoke-down's status.lastDelivery: is a receiver configured for namespace $SMOKE_NAMESPACE? (make deploy adds the smoke receiver; or tools/smoke.sh receiver + receiver-values)"
if k get deployment smoke-receiver -n "$SMOKE_NAMESPACE" >/dev/null 2>&1; then
  received() { k logs deployment/smoke-receiver -n "$SMOKE_NAMESPACE" | grep '"smokeWebhook":true' | grep '"type":"check.down"' | grep -q '"verified":true'; }
  eventually received || fail "the smoke receiver logged no verified check.down webhook"
  ok "the smoke receiver verified the signature of a check.down webhook"
else
  ok "status.lastDelivery: $(check_field smoke-down .status.lastDelivery)"
fi

step "a Kubernetes Event on smoke-down records the transition"
has_event() { k get events -n "$SMOKE_NAMESPACE" --field-selector involvedObject.name=smoke-down -o jsonpath='{.items[*].reason}' | grep -qw Down; }
eventually has_event || fail "no Down event on smoke-down (kubectl describe uc smoke-down -n $SMOKE_NAMESPACE)"
ok "$(k get events -n "$SMOKE_NAMESPACE" --field-selector involvedObject.name=smoke-down -o jsonpath='{.items[*].reason}')"

step "the API reports smoke-up's uptime"
uptime_json() {
  curl -sf --max-time 5 "$SMOKE_URL/api/v1/checks/$SMOKE_NAMESPACE/smoke-up" | node -e '
    let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const check = JSON.parse(s);
      if (check.state !== "up" || typeof check.uptime?.["24h"] !== "number") process.exit(1);
      console.log(`state ${check.state}, uptime 24h ${check.uptime["24h"]}%`);
    });'
}
eventually uptime_json || fail "$SMOKE_URL/api/v1/checks/$SMOKE_NAMESPACE/smoke-up has no 24h uptime yet: $(curl -s --max-time 5 "$SMOKE_URL/api/v1/checks/$SMOKE_NAMESPACE/smoke-up" | head -c 300)"
ok "$(uptime_json)"

step "deleting the checks completes at once and they leave the API"
k delete uptimecheck smoke-up smoke-down -n "$SMOKE_NAMESPACE" --wait --timeout=30s >/dev/null || fail "deleting the smoke checks did not complete (a finalizer?)"
gone() { [[ "$(http_code "$SMOKE_URL/api/v1/checks/$SMOKE_NAMESPACE/smoke-up")" == 404 ]]; }
eventually gone || fail "smoke-up is still served by the API"
ok "deleted; the API answers 404"

printf '\nsmoke: all 10 steps passed against %s (%s)\n' "$SMOKE_URL" "$(k config current-context)"
