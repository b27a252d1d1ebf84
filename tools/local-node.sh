#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, without Docker:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (the control
# plane's cached binaries), containerd 2 + Debian's runc and CNI plugins,
# kubelet, kube-proxy (iptables), kube-router (NetworkPolicy only), and CoreDNS
# and Traefik (the ingress controller, class traefik, on 127.0.0.1:HOST_PORT)
# as pods. Every binary is built from the package registries (tools/build-*.sh).
#
#   tools/local-node.sh up        build/reuse the binaries, start the cluster, print how to use it
#   tools/local-node.sh down      remove everything `up` made (safe to run any time, twice)
#   tools/local-node.sh verify    exit 1 naming anything `up` left behind after `down`
#   tools/local-node.sh env       print the KUBECONFIG/PATH exports
#   tools/local-node.sh import F  import an image archive (docker-archive) into the node's containerd
#
# These machines are shared, so the node keeps to these rules
# (docs/development.md, "The local node"):
#   - pods live only on the bridge cni0 (10.88.0.0/16; services 10.96.0.0/16);
#     forwarding is enabled on cni0 only and a guard chain drops anything that
#     enters or leaves the bridge except bridge-to-bridge and host traffic:
#     nothing is ever sent off the machine. CoreDNS has no forward plugin.
#   - the machine's mounts, cgroups, interfaces and routes are left alone: pod
#     cgroups live under this process's own memory cgroup, the node's address is
#     cni0's own 10.88.0.1, the kubelet listens on 127.0.0.1.
#   - kernel settings that kubelet/kube-proxy change are recorded first and put
#     back (kubelet's right after start, the rest at `down`).
#   - `down` stops each process by the PID it recorded, and removes mounts,
#     network namespaces, the bridge, iptables rules/chains and ipsets, cgroups
#     and files it made.
# One node per machine: the bridge, the ports and the chains are fixed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

NODE_DIR="${VIGIL_NODE_DIR:-/var/lib/vigil-node}"
BRIDGE=cni0
POD_CIDR=10.88.0.0/16
NODE_IP=10.88.0.1
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
DNS_IP=10.96.0.10
APISERVER_PORT=6443
ETCD_PORT=32379
# Traefik's NodePort is HOST_PORT (8080), so the status page is on localhost:8080.
NODE_PORT_RANGE=8000-32767
HOST_PORT="${HOST_PORT:-8080}"
GUARD_CHAIN=VIGIL-NODE-GUARD
IMAGE_PAUSE=localhost/vigil/pause:1
IMAGE_COREDNS=localhost/vigil/coredns:1
IMAGE_TRAEFIK=localhost/vigil/traefik:1
# Directories outside NODE_DIR that the kubelet, containerd or CNI create on
# their own; `down` removes each one that did not exist before `up`.
OUTSIDE_DIRS=(/var/log/pods /var/log/containers /var/lib/cni /run/containerd /run/netns /var/run/netns
  /var/lib/kubelet /usr/libexec/kubernetes /etc/cni /opt/cni /var/lib/containerd /run/nri /var/run/nri)
# Kernel settings the node's parts change (kubelet: vm/kernel; kube-proxy and
# the bridge: net). Recorded before `up`, restored at `down`.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.default.forwarding
  net.ipv4.conf.all.route_localnet net.ipv4.conf.default.route_localnet net.ipv4.conf.lo.route_localnet
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
  net.netfilter.nf_conntrack_tcp_be_liberal net.ipv6.conf.all.forwarding)
# Only kubelet's own settings go back right after start; kube-proxy needs
# route_localnet for the 127.0.0.1 NodePort while the node runs.
KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
APT_PACKAGES=(runc containernetworking-plugins iptables ipset conntrack)

log() { printf '[local-node] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

STATE="$NODE_DIR/state"    # what `down` needs: recorded before anything is changed
PKI="$NODE_DIR/pki"
LOGS="$NODE_DIR/logs"
PIDS="$NODE_DIR/pids"
KUBECONFIG_FILE="$NODE_DIR/kubeconfig"

cp_bin() { "$HERE/build-control-plane.sh" --check 2>/dev/null; }
node_bin() { "$HERE/build-node.sh" --check 2>/dev/null; }

# ---------------------------------------------------------------------------
# before/after records

record_machine() { # dir: what `verify` compares after `down`
  local d=$1
  mkdir -p "$d"
  for k in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null || echo '-')"; done > "$d/sysctl"
  for p in "${OUTSIDE_DIRS[@]}"; do [[ -e $p ]] && echo "$p"; done > "$d/outside-dirs" || true
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort > "$d/links"
  findmnt -rn -o TARGET | sort > "$d/mounts"
  ip route show table all | sort > "$d/routes"
  for t in filter nat mangle raw; do iptables-save -t "$t" 2>/dev/null | grep -v '^[#:]' | sed 's/\[[0-9]*:[0-9]*\]//' ; done | sort > "$d/iptables" || true
  for t in filter nat mangle raw; do ip6tables-save -t "$t" 2>/dev/null | grep -v '^[#:]' ; done | sort > "$d/ip6tables" || true
  ipset list -n 2>/dev/null | sort > "$d/ipsets" || true
}

# cgroup v1: pod cgroups under this process's memory cgroup (cgroupfs driver).
# For each hierarchy, remember the deepest directory that already existed so
# `down` removes exactly what the kubelet created.
cgroup_root() {
  local mem
  mem="$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)"
  [[ -n $mem ]] || mem="$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup)"
  echo "${mem%/}/vigil-node"
}

# ---------------------------------------------------------------------------
# up

# The kubelet wants its cgroupRoot to exist in every hierarchy. cgroup v1's
# cpuset starts a new group with no CPUs or memory nodes: copy the parent's.
create_cgroup_root() {
  local h existing d rel
  while IFS=$'\t' read -r h existing; do
    d="$existing"
    rel="${CGROUP_ROOT#"$existing"}"
    local part
    for part in ${rel//\// }; do
      local parent="$h${d#/}"
      d="$d/$part"
      mkdir -p "$h${d#/}"
      if [[ -f "$parent/cpuset.cpus" ]]; then
        cat "$parent/cpuset.cpus" > "$h${d#/}/cpuset.cpus"
        cat "$parent/cpuset.mems" > "$h${d#/}/cpuset.mems"
      fi
    done
  done < "$STATE/cgroup-existing"
}

ensure_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return
  log "installing Debian packages: ${missing[*]}"
  flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
    || { flock /tmp/apt.lock apt-get update >/dev/null && flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}

start() { # name args...: detached, in this process's cgroup, PID recorded
  local name=$1; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/$name"
}

running() { [[ -f "$PIDS/$1" ]] && kill -0 "$(cat "$PIDS/$1")" 2>/dev/null; }

wait_for() { # what seconds command...
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready after ${secs}s (logs: $LOGS)"
    sleep 0.5
  done
}

pki() {
  mkdir -p "$PKI"; cd "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3 -subj /CN=vigil-node-ca 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  cert() { # name subject [san]
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    local ext=(); [[ -n ${3:-} ]] && { printf 'subjectAltName=%s\n' "$3" > "$1.ext"; ext=(-extfile "$1.ext"); }
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3 "${ext[@]}" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  cert apiserver /CN=kube-apiserver "IP:$NODE_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=vigil-node-admin"
  cert apiserver-kubelet "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert controller-manager /CN=system:kube-controller-manager
  cert scheduler /CN=system:kube-scheduler
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  cert kube-proxy /CN=system:kube-proxy
  cert kube-router /CN=vigil-node:kube-router
  cd - >/dev/null
}

kubeconfig() { # file cert-name
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: vigil-node
  cluster: {server: "https://$NODE_IP:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$PKI/$2.crt", client-key: "$PKI/$2.key"}
contexts:
- name: vigil-node
  context: {cluster: vigil-node, user: $2}
current-context: vigil-node
YAML
}

write_configs() {
  local c="$NODE_DIR/config"; mkdir -p "$c" "$NODE_DIR/cni/net.d"
  for u in admin controller-manager scheduler kubelet kube-proxy kube-router; do kubeconfig "$c/$u.kubeconfig" "$u"; done
  cp "$c/admin.kubeconfig" "$KUBECONFIG_FILE"

  cat > "$c/containerd.toml" <<TOML
version = 3
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
# NRI would open a socket under /var/run; nothing here uses it.
disabled_plugins = ["io.containerd.nri.v1.nri"]
[grpc]
  address = "$NODE_DIR/containerd/containerd.sock"
[ttrpc]
  address = "$NODE_DIR/containerd/containerd.sock.ttrpc"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$IMAGE_PAUSE"
[plugins.'io.containerd.cri.v1.runtime']
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$NODE_DIR/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$NODE_DIR/cni/net.d"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
TOML

  # isGateway false: the plugin would otherwise turn on global ip_forward.
  # The bridge and its address (the default route's gateway) are made by `up`.
  cat > "$NODE_DIR/cni/net.d/10-vigil.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "vigil-node", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": false, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$NODE_DIR/cni/ipam",
            "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "10.88.0.10", "gateway": "$NODE_IP"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}
JSON

  cat > "$c/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# kubectl logs/exec reach the kubelet through the node's name, which resolves to 127.0.0.1.
address: 127.0.0.1
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "$PKI/ca.crt"}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: "$CGROUP_ROOT"
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: ""
containerRuntimeEndpoint: "unix://$NODE_DIR/containerd/containerd.sock"
podLogsDir: "$NODE_DIR/pod-logs"
volumePluginDir: "$NODE_DIR/kubelet-plugins"
enforceNodeAllocatable: [pods]
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
protectKernelDefaults: false
maxPods: 80
YAML

  cat > "$c/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$c/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
# NodePorts answer on 127.0.0.1 only: the host reaches the status page, nothing else does.
nodePortAddresses: [127.0.0.1/32]
iptables: {localhostNodePorts: true, masqueradeAll: false, syncPeriod: 30s, minSyncPeriod: 1s}
# Zero: leave the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
healthzBindAddress: 127.0.0.1:31256
metricsBindAddress: 127.0.0.1:31249
YAML
}

guard_rules() { # -A|-D: the guard in mangle FORWARD runs before any filter rule kube-proxy/kube-router add
  local op=$1
  if [[ $op == -A ]]; then
    iptables -t mangle -N "$GUARD_CHAIN" 2>/dev/null || iptables -t mangle -F "$GUARD_CHAIN"
    iptables -t mangle -A "$GUARD_CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j RETURN
    iptables -t mangle -A "$GUARD_CHAIN" -i "$BRIDGE" -j DROP
    iptables -t mangle -A "$GUARD_CHAIN" -o "$BRIDGE" -j DROP
    iptables -t mangle -C FORWARD -j "$GUARD_CHAIN" 2>/dev/null || iptables -t mangle -I FORWARD 1 -j "$GUARD_CHAIN"
  fi
}

network_up() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/16" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  guard_rules -A
  sysctl -qw "net.ipv4.conf.$BRIDGE.forwarding=1"
  # Pod-to-pod traffic on the bridge must pass iptables (Service NAT replies, NetworkPolicy).
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
}

images_dir() { echo "$(dirname "$(node_bin)")/images"; }

# The pause, CoreDNS and Traefik images: one static binary each, FROM scratch,
# built once per node build with buildah and kept as archives beside the binaries.
node_images() {
  local dir bin; bin="$(node_bin)"; dir="$(images_dir)"
  mkdir -p "$dir"
  [[ -f "$dir/pause.tar" ]] || "$HERE/build-image.sh" scratch "$bin/pause" /pause "$IMAGE_PAUSE" 65535 "$dir/pause.tar"
  [[ -f "$dir/coredns.tar" ]] || "$HERE/build-image.sh" scratch "$bin/coredns" /coredns "$IMAGE_COREDNS" 65534 "$dir/coredns.tar"
  [[ -f "$dir/traefik.tar" ]] || "$HERE/build-image.sh" scratch "$bin/traefik" /traefik "$IMAGE_TRAEFIK" 65532 "$dir/traefik.tar"
}

ctr_() { "$(node_bin)/ctr" --address "$NODE_DIR/containerd/containerd.sock" -n k8s.io "$@"; }

addons() {
  local k=("$CP_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE")
  "${k[@]}" apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
YAML
  local i
  for i in 0 1 2 3; do
    mkdir -p "$NODE_DIR/volumes/pv-$i"
    "${k[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-$i}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  local: {path: "$NODE_DIR/volumes/pv-$i"}
  nodeAffinity:
    required:
      nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}]}]
YAML
  done
  "${k[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: vigil-node:coredns}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vigil-node:coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: vigil-node:coredns}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  # No forward plugin: a name outside the cluster answers NXDOMAIN.
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            ttl 5
        }
        cache 5
        template ANY ANY {
            rcode NXDOMAIN
        }
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      # Port 53 in the pod, unprivileged: NetworkPolicies allowing DNS name port 53,
      # and they see the pod's port after the Service's DNAT.
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        runAsGroup: 65534
        seccompProfile: {type: RuntimeDefault}
        sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}]
      containers:
        - name: coredns
          image: $IMAGE_COREDNS
          imagePullPolicy: Never
          args: [-conf, /etc/coredns/Corefile]
          ports:
            - {name: dns, containerPort: 53, protocol: UDP}
            - {name: dns-tcp, containerPort: 53, protocol: TCP}
          readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
          livenessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10}
          resources: {requests: {cpu: 20m, memory: 32Mi}, limits: {memory: 128Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
          volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, targetPort: 53, protocol: UDP}
    - {name: dns-tcp, port: 53, targetPort: 53, protocol: TCP}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: traefik, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: vigil-node:traefik}
rules:
  # Traefik's Kubernetes Ingress provider: routes from Ingresses, backends from
  # EndpointSlices, TLS from Secrets; it writes only the Ingress's status.
  - apiGroups: [""]
    resources: [services, secrets, nodes]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses, ingressclasses]
    verbs: [get, list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses/status]
    verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vigil-node:traefik}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: vigil-node:traefik}
subjects: [{kind: ServiceAccount, name: traefik, namespace: kube-system}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: traefik.io/ingress-controller}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: traefik, namespace: kube-system, labels: {app.kubernetes.io/name: traefik}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: traefik}}
  template:
    # The label k3s's Traefik has: the chart's default NetworkPolicy lets it reach the api.
    metadata: {labels: {app.kubernetes.io/name: traefik}}
    spec:
      serviceAccountName: traefik
      priorityClassName: system-cluster-critical
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: traefik
          image: $IMAGE_TRAEFIK
          imagePullPolicy: Never
          args:
            - --entryPoints.web.address=:8000
            - --entryPoints.traefik.address=:9000
            - --ping=true
            - --providers.kubernetesIngress=true
            # Nothing leaves the machine: no version check, no usage report.
            - --global.checkNewVersion=false
            - --global.sendAnonymousUsage=false
            - --log.format=json
          ports:
            - {name: web, containerPort: 8000}
            - {name: admin, containerPort: 9000}
          readinessProbe: {httpGet: {path: /ping, port: 9000}, periodSeconds: 2}
          livenessProbe: {httpGet: {path: /ping, port: 9000}, periodSeconds: 10}
          resources: {requests: {cpu: 20m, memory: 64Mi}, limits: {memory: 256Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: traefik, namespace: kube-system, labels: {app.kubernetes.io/name: traefik}}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: traefik}
  ports:
    - {name: web, port: 80, targetPort: 8000, nodePort: $HOST_PORT}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vigil-node:kube-router}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: vigil-node:kube-router}
subjects: [{kind: User, name: "vigil-node:kube-router"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: vigil-node:kube-router}
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, services, nodes, endpoints]
    verbs: [list, get, watch]
  - apiGroups: [networking.k8s.io]
    resources: [networkpolicies]
    verbs: [list, get, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, get, watch]
  - apiGroups: [""]
    resources: [events]
    verbs: [create, patch, update]
  - apiGroups: [""]
    resources: [nodes]
    verbs: [patch, update]
YAML
}

up() {
  [[ $EUID == 0 ]] || die "needs root (it runs a kubelet and changes iptables)"
  if [[ -d $NODE_DIR ]]; then
    if running kubelet; then log "the node is already up"; print_usage; return; fi
    die "$NODE_DIR exists but the node is not running: run 'tools/local-node.sh down' first"
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 && die "an interface $BRIDGE already exists: another node on this machine?"
  ensure_packages
  CP_BIN="$("$HERE/build-control-plane.sh")"
  NODE_BIN="$("$HERE/build-node.sh")"
  NODE_NAME="$(hostname | tr '[:upper:]' '[:lower:]')"
  getent hosts "$NODE_NAME" | grep -q '^127\.' || die "the node's name $NODE_NAME must resolve to 127.0.0.1 (kubectl logs/exec reach the kubelet through it)"

  mkdir -p "$STATE" "$LOGS" "$PIDS"
  # From here on, `down` can undo whatever happened.
  record_machine "$STATE/before"
  CGROUP_ROOT="$(cgroup_root)"
  echo "$CGROUP_ROOT" > "$STATE/cgroup-root"
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -f $h/cgroup.procs ]] || continue
    local p="$CGROUP_ROOT"
    while [[ -n $p && ! -d "$h${p#/}" ]]; do p="${p%/*}"; done
    printf '%s\t%s\n' "$h" "$p"
  done > "$STATE/cgroup-existing"
  # A failed `up` removes what it made; its logs stay in /tmp/vigil-node-record/logs.
  trap 'rc=$?; if ((rc != 0)); then log "up failed: removing what it made"; down || true; fi' EXIT
  create_cgroup_root

  log "binaries: $CP_BIN, $NODE_BIN"
  pki
  write_configs
  network_up

  start etcd "$CP_BIN/etcd" --name=vigil-node --data-dir="$NODE_DIR/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls=http://127.0.0.1:$((ETCD_PORT + 1)) --initial-advertise-peer-urls=http://127.0.0.1:$((ETCD_PORT + 1)) \
    --initial-cluster=vigil-node=http://127.0.0.1:$((ETCD_PORT + 1)) --unsafe-no-fsync=true --log-level=warn
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  start kube-apiserver "$CP_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
    --cert-dir="$NODE_DIR/apiserver-certs" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range="$NODE_PORT_RANGE" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet.crt" --kubelet-client-key="$PKI/apiserver-kubelet.key" \
    --kubelet-preferred-address-types=Hostname --enable-priority-and-fairness=false --profiling=false
  wait_for kube-apiserver 90 curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://$NODE_IP:$APISERVER_PORT/readyz"

  start kube-controller-manager "$CP_BIN/kube-controller-manager" --kubeconfig="$NODE_DIR/config/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=31257 --leader-elect=false --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" --profiling=false
  start kube-scheduler "$NODE_BIN/kube-scheduler" --kubeconfig="$NODE_DIR/config/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=31259 --leader-elect=false --profiling=false

  # containerd finds its shim on PATH; the shims stay in this cgroup.
  PATH="$NODE_BIN:$PATH" start containerd "$NODE_BIN/containerd" --config "$NODE_DIR/config/containerd.toml"
  wait_for containerd 30 "$NODE_BIN/ctr" --address "$NODE_DIR/containerd/containerd.sock" version
  node_images
  ctr_ images import "$(images_dir)/pause.tar" >/dev/null
  ctr_ images import "$(images_dir)/coredns.tar" >/dev/null
  ctr_ images import "$(images_dir)/traefik.tar" >/dev/null

  start kubelet "$NODE_BIN/kubelet" --config="$NODE_DIR/config/kubelet.yaml" \
    --kubeconfig="$NODE_DIR/config/kubelet.kubeconfig" --root-dir="$NODE_DIR/kubelet" --cert-dir="$NODE_DIR/kubelet-pki" \
    --node-ip="$NODE_IP" --hostname-override="$NODE_NAME" --v=1
  start kube-proxy "$NODE_BIN/kube-proxy" --config="$NODE_DIR/config/kube-proxy.yaml"
  start kube-router "$NODE_BIN/kube-router" --kubeconfig="$NODE_DIR/config/kube-router.kubeconfig" \
    --hostname-override="$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-cni=false --enable-ipv6=false --service-cluster-ip-range="$SERVICE_CIDR" --health-port=0 --metrics-port=0

  local k=("$CP_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE")
  wait_for "node $NODE_NAME" 90 "${k[@]}" get node "$NODE_NAME"
  wait_for "node Ready" 90 "${k[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
  restore_sysctls "${KUBELET_SYSCTLS[@]}"
  wait_for "the kube-system ServiceAccount" 60 "${k[@]}" get serviceaccount default -n kube-system
  addons
  wait_for CoreDNS 120 "${k[@]}" rollout status deployment/coredns -n kube-system --timeout=1s
  wait_for Traefik 120 "${k[@]}" rollout status deployment/traefik -n kube-system --timeout=1s
  trap - EXIT
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router; do
    running "$name" || die "$name exited: $LOGS/$name.log"
  done
  log "node $NODE_NAME Ready; CoreDNS and Traefik Ready (Ingresses of class traefik on http://localhost:$HOST_PORT)"
  print_usage
}

print_usage() {
  cat <<EOF
The local node is up. Use it with:
  export KUBECONFIG=$KUBECONFIG_FILE PATH=$(cp_bin):\$PATH
  kubectl get nodes
Logs: $LOGS. Remove everything: make cluster-down (tools/local-node.sh down).
EOF
}

# ---------------------------------------------------------------------------
# down

restore_sysctls() { # keys...: back to the values recorded before `up`
  [[ -f "$STATE/before/sysctl" ]] || return 0
  local k v
  for k in "$@"; do
    v="$(awk -F= -v k="$k" '$1 == k {print substr($0, length(k) + 2)}' "$STATE/before/sysctl")"
    [[ -n $v && $v != - ]] || continue
    [[ "$(sysctl -n "$k" 2>/dev/null)" == "$v" ]] || sysctl -qw "$k=$v" || log "could not restore $k=$v"
  done
}

stop_pid() { # name: TERM, then KILL after a grace period
  local f="$PIDS/$1" pid
  [[ -f $f ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$f"
}

# Every process in the node's pod cgroups and every shim of this node's
# containerd: the ones it recorded, and any whose task directory is already
# gone, recognised by this node's containerd socket on their command line.
kill_workloads() {
  local f pid
  for f in "$NODE_DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f $f ]] || continue
    pid="$(cat "$f")"; [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in $(node_shims); do kill -KILL "$pid" 2>/dev/null || true; done
  [[ -f "$STATE/cgroup-root" ]] || return 0
  local root; root="$(cat "$STATE/cgroup-root")"
  for _ in 1 2 3; do
    while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done < <(find /sys/fs/cgroup/*"$root" -name cgroup.procs -exec cat {} + 2>/dev/null)
    sleep 0.3
  done
}

node_shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim-runc-v2 .*-address $NODE_DIR/containerd/containerd.sock" && echo "${p#/proc/}"
  done
  return 0
}

remove_cgroups() {
  [[ -f "$STATE/cgroup-existing" ]] || return 0
  local root h existing d
  root="$(cat "$STATE/cgroup-root")"
  while IFS=$'\t' read -r h existing; do
    [[ -d "$h${root#/}" ]] || continue
    # Depth first; each directory is empty once its processes are gone.
    find "$h${root#/}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    d="$root"
    while [[ -n $d && $d != "$existing" ]]; do d="${d%/*}"; [[ $d == "$existing" || -z $d ]] && break; rmdir "$h${d#/}" 2>/dev/null || break; done
  done < "$STATE/cgroup-existing"
}

remove_mounts() {
  local m
  # Deepest first: the kubelet's volumes, containerd's rootfs and shm mounts, netns bind mounts.
  for _ in 1 2 3; do
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(findmnt -rn -o TARGET | grep -E "^($NODE_DIR|/run/netns/cni-|/var/run/netns/cni-|/run/containerd)" | sort -r)
  done
}

remove_iptables() {
  local cmd table chain
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      # Rules in any chain that jump to a node chain, then the node's chains.
      "$cmd-save" -t "$table" 2>/dev/null | grep -E '^-A ' | grep -E -- "-j (KUBE-|$GUARD_CHAIN|CNI-)" | sed 's/^-A /-D /' | while read -r rule; do
        eval "$cmd -t $table $rule" 2>/dev/null || true
      done
      for chain in $("$cmd-save" -t "$table" 2>/dev/null | awk '/^:/ {print substr($1, 2)}' | grep -E "^(KUBE-|$GUARD_CHAIN|CNI-)"); do
        "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$cmd-save" -t "$table" 2>/dev/null | awk '/^:/ {print substr($1, 2)}' | grep -E "^(KUBE-|$GUARD_CHAIN|CNI-)"); do
        "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  if command -v ipset >/dev/null; then
    local before=/dev/null; [[ -f "$STATE/before/ipsets" ]] && before="$STATE/before/ipsets"
    ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router|inet6:KUBE-|inet6:kube-router)' | grep -vxF -f "$before" | while read -r s; do ipset destroy "$s" 2>/dev/null || true; done
  fi
}

down() {
  [[ $EUID == 0 ]] || die "needs root"
  # Best effort to the end: one step failing must not leave the rest behind.
  set +e +o pipefail
  if [[ ! -d $NODE_DIR ]]; then log "no node at $NODE_DIR"; return 0; fi
  log "stopping the node"
  # The kubelet first, so it restarts nothing; then every pod process and shim.
  stop_pid kubelet
  kill_workloads
  local name
  for name in kube-router kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do stop_pid "$name"; done
  kill_workloads
  local nb; nb="$(node_bin || true)"
  if [[ -x "$nb/kube-proxy" ]]; then "$nb/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  remove_iptables
  remove_mounts
  local n
  for n in /run/netns/cni-* /var/run/netns/cni-*; do [[ -e $n ]] && { umount "$n" 2>/dev/null || true; rm -f "$n"; }; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  command -v conntrack >/dev/null && { conntrack -D -s "$POD_CIDR" >/dev/null 2>&1 || true; conntrack -D -d "$SERVICE_CIDR" >/dev/null 2>&1 || true; }
  remove_cgroups
  restore_sysctls "${SYSCTLS[@]}"
  local p
  if [[ -f "$STATE/before/outside-dirs" ]]; then
    for p in "${OUTSIDE_DIRS[@]}"; do
      [[ -L $p || ! -e $p ]] && continue
      grep -qxF "$p" "$STATE/before/outside-dirs" || rm -rf "$p"
    done
  fi
  # The machine's record (for `verify`) and the logs stay in /tmp/vigil-node-record; everything else goes.
  local record=/tmp/vigil-node-record
  rm -rf "$record"; mkdir -p "$record"
  [[ -d "$STATE/before" ]] && cp -a "$STATE/before" "$record/"
  [[ -d $LOGS ]] && cp -a "$LOGS" "$record/"
  rm -rf "$NODE_DIR"
  log "the node is down"
}

# ---------------------------------------------------------------------------
# verify: `down` left nothing

verify() {
  local rec=/tmp/vigil-node-record/before problems=()
  # Without a record (no node was ever up here) only the checks below that need none run.
  [[ -d $rec ]] || log "no record of the machine before 'up' ($rec): checking processes, $BRIDGE, iptables and cgroups only"
  [[ -d $NODE_DIR ]] && problems+=("$NODE_DIR still exists")
  local now; now="$(mktemp -d)"
  # The same records as before 'up', compared file by file.
  STATE="$now" record_machine "$now/after" 2>/dev/null
  local what
  for what in sysctl outside-dirs links mounts routes iptables ip6tables ipsets; do
    [[ -d $rec ]] || break
    if ! diff -q "$rec/$what" "$now/after/$what" >/dev/null 2>&1; then
      problems+=("$what differs from before 'up': $(diff "$rec/$what" "$now/after/$what" | grep '^[<>]' | head -5 | paste -sd';' -)")
    fi
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && problems+=("interface $BRIDGE exists")
  iptables-save 2>/dev/null | grep -qE "KUBE-|$GUARD_CHAIN" && problems+=("iptables still has KUBE-*/$GUARD_CHAIN rules or chains")
  # The node's own binaries (kubelet, containerd and its shims, kube-proxy, kube-router, scheduler)
  # and anything still in a pod cgroup. etcd/kube-apiserver come from the shared control-plane
  # cache that tests also use, so those are matched by the node's flags instead.
  local p exe
  for p in /proc/[0-9]*; do
    exe="$(readlink "$p/exe" 2>/dev/null || true)"
    [[ $exe == */vigil/node/*/bin/* ]] && problems+=("process ${p#/proc/} ($exe) still runs")
    grep -q vigil-node "$p/cgroup" 2>/dev/null && problems+=("process ${p#/proc/} is in a vigil-node cgroup")
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -qE -- "--(data-dir|cert-dir)=$NODE_DIR|-address $NODE_DIR/" && problems+=("process ${p#/proc/} of the node still runs")
  done
  [[ -n "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d -name vigil-node 2>/dev/null)" ]] && problems+=("cgroups named vigil-node remain")
  rm -rf "$now"
  if ((${#problems[@]})); then
    printf '[local-node] left behind after down:\n' >&2
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
  fi
  log "nothing left behind: processes, mounts, netns, $BRIDGE, iptables/ipsets, cgroups, files and sysctls are as before 'up'"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  verify) verify ;;
  env) echo "export KUBECONFIG=$KUBECONFIG_FILE PATH=$(cp_bin):\$PATH" ;;
  import) [[ -f ${2:-} ]] || die "usage: $0 import IMAGE.tar"; ctr_ images import "$2" ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
