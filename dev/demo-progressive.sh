# shellcheck shell=bash
# dev/demo canary and dev/demo blue-green, sourced by dev/demo once the cluster, the operator and
# two test apps run: $stable_url plays the version users have, $new_url the new version's side,
# $redirect_url the plain-HTTP listener. The seed examples are applied as they are, but for the
# addresses (the test apps stand in for the real hosts) and shorter waits, each said below.

# Shows where a release stands, the way a user looks at it.
show() {
  run kubectl get dcl -n demo
  run kubectl get deploy,svc,pods -n demo -L checklist.dev/revision
}

# Waits until status.rollout.stage of $1 is $2.
wait_stage() {
  run kubectl wait -n demo "dcl/$1" --for=jsonpath='{.status.rollout.stage}'="$2" --timeout=180s
}

# vel-tutor.yaml at image $1, through the demo's Traefik. It verifies https://vel-tutor.fly.dev;
# here the front door is Traefik on loopback ($front_door), and the Services listen on 8080 (the
# test apps bind their ClusterIPs; port 80 would need root). Rounds every 2 s instead of 30 s,
# up to 10 failed in a row (the test apps start once the Services exist); the 30-minute pause is
# left out, so step 1 waits for a person to promote. The test app reports each dependency as
# connected, where the real one says "available" for the AI APIs.
vel_tutor() {
  sed -e "s#image: flyio/vel-tutor:v1.0.0#image: flyio/vel-tutor:$1#" \
      -e "s#^    port: 8080\$#    port: 8080\n    service: {port: 8080}#" \
      -e "s#url: https://vel-tutor.fly.dev#url: $front_door\n    failureThreshold: 10#" \
      -e "s#initialDelaySeconds: 10\$#initialDelaySeconds: 1#" \
      -e "s#intervalSeconds: 30#intervalSeconds: 2#" \
      -e "s#{weight: 10, pauseSeconds: 1800}#{weight: 10}#" \
      -e "s#httpsRedirect: {}#httpsRedirect: {httpURL: \"$redirect_url\"}#" \
      -e "s#path: /api/auth/login#path: /users/log_in#" \
      -e "s#: available\$#: connected#" \
      -e 's#Origin, value: "https://vel-tutor.fly.dev"#Origin, value: "https://app.example.com"#' \
      -e 's#vel-tutor\\.fly\\.dev\$#app\\.example\\.com$#' \
      examples/vel-tutor.yaml
}

# The revision vel_tutor $1 gets (the addresses are not part of it), as `kubectl checklist lint`
# prints it: the label the test app playing that version exports its metrics under.
vel_tutor_revision() {
  front_door=http://127.0.0.1:1 redirect_url=http://127.0.0.1:1 \
    vel_tutor "$1" >"$state/vel-tutor-$1.yaml"
  "$bin/kubectl-checklist" lint --offline -f "$state/vel-tutor-$1.yaml" |
    sed -n 's/^    revision \([0-9a-f]*\):.*/\1/p'
}

# A free port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Traefik on a free loopback port, serving the Gateway `public` of namespace demo (the parent
# examples/vel-tutor-route.yaml names) with a GatewayClass of its own; sets front_door.
start_traefik() {
  local port
  port="$(free_port)"
  kubectl apply -n demo -f - >/dev/null <<GATEWAY
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: demo-traefik}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: demo-traefik
  listeners: [{name: web, port: $port, protocol: HTTP}]
GATEWAY
  # nativeLB: Traefik sends a route's requests to the Services' ClusterIPs, which the local
  # cluster keeps on loopback, where the test apps listen.
  "$traefik_bin" --entryPoints.web.address="127.0.0.1:$port" --providers.kubernetesgateway=true \
    --providers.kubernetesgateway.nativeLBByDefault=true \
    --providers.kubernetesgateway.namespaces=demo --log.level=ERROR \
    >"$state/traefik.log" 2>&1 &
  pids+=("$!")
  run kubectl wait -n demo gateway/public --for=condition=Accepted --timeout=60s
  front_door="http://127.0.0.1:$port"
  echo "the users' front door (Traefik): $front_door"
}

# The ClusterIP of Service $1 in demo, once the operator made it.
cluster_ip() {
  local ip=""
  for _ in $(seq 1 300); do
    ip="$(kubectl get svc -n demo "$1" -o 'jsonpath={.spec.clusterIP}' 2>/dev/null || true)"
    [[ -n "$ip" ]] && break
    sleep 0.2
  done
  [[ -n "$ip" ]] || die "the operator did not create Service $1"
  printf '%s\n' "$ip"
}

# Of $1 requests to /health/deep through the front door (with header $2 if given), how many the
# new version (1.1.0) answered.
new_version_share() {
  local n="$1" header=() new=0
  [[ -n "${2:-}" ]] && header=(-H "$2")
  for _ in $(seq 1 "$n"); do
    if curl -fsS "${header[@]}" "$front_door/health/deep" | grep -q '"version":"1.1.0"'; then
      new=$((new + 1))
    fi
  done
  printf '%s\n' "$new"
}

# The route's rules in one line each: name, backends with weights, header matches.
show_route() {
  run kubectl get httproute -n demo vel-tutor -o 'jsonpath={range .spec.rules[*]}{.name}: {range .backendRefs[*]}{.name}={.weight} {end}{range .matches[*].headers[*]}[{.name}: {.value}]{end}{"\n"}{end}'
}

demo_canary() {
  start_traefik
  step "the user's HTTPRoute (examples/vel-tutor-route.yaml): every request to vel-tutor, the canary Service at weight 0"
  # Its hostname is the real one; here requests reach Traefik as 127.0.0.1.
  sed -e "s#port: 80,#port: 8080,#g" -e "/hostnames:/d" examples/vel-tutor-route.yaml | kubectl apply -n demo -f -
  kubectl apply -n demo -f examples/vel-tutor-secret.yaml -f examples/vel-tutor-functional-test-secret.yaml
  # The stable app's plain-HTTP redirect listener, named in the checks before the app starts.
  local redirect_port
  redirect_port="$(free_port)"
  redirect_url="http://127.0.0.1:$redirect_port"
  step "vel_tutor v1.0.0: the first release has nothing to protect, so it goes straight to every replica"
  vel_tutor v1.0.0 | kubectl apply -n demo -f -
  # The kwok pods serve nothing: a test app on each Service's ClusterIP plays the pods behind it.
  listen="$(cluster_ip vel-tutor):8080" http_listen="127.0.0.1:$redirect_port" start_app stable --app-version 1.0.0 \
    --metric-label namespace=demo --metric-label "revision=$(vel_tutor_revision v1.0.0)"
  stable_url="$app_url"
  listen="$(cluster_ip vel-tutor-canary):8080" start_app canary --app-version 1.1.0 \
    --metric-label namespace=demo --metric-label "revision=$(vel_tutor_revision v1.1.0)"
  new_url="$app_url"
  redirect_url="http://127.0.0.1:$redirect_port"
  printf '[{"targets": ["%s", "%s"]}]\n' "${stable_url#http://}" "${new_url#http://}" >"$state/targets.json"
  run kubectl wait -n demo dcl/vel-tutor --for=condition=Ready --timeout=180s
  show

  step "v1.1.0 by canary: 1 canary pod (canaryReplicas), 10% of requests by the route's weights"
  vel_tutor v1.1.0 | kubectl apply -n demo -f -
  wait_stage vel-tutor WaitingForPromotion
  show
  show_route
  run kubectl checklist status -n demo vel-tutor
  step "measured through Traefik: users' requests (no header), then the checks' (the revision header)"
  local revision share pinned
  revision="$(kubectl get dcl -n demo vel-tutor -o 'jsonpath={.status.rollout.revision}')"
  share="$(new_version_share 1000)"
  pinned="$(new_version_share 50 "x-checklist-revision: $revision")"
  printf 'without the header: %s of 1000 requests reached v1.1.0 (the step says 10%%)\n' "$share"
  printf 'with x-checklist-revision: %s: %s of 50 reached v1.1.0\n' "$revision" "$pinned"
  step "step 1 passed its checks through the front door, pinned to the canary; a person promotes"
  run kubectl checklist promote -n demo vel-tutor
  run kubectl wait -n demo dcl/vel-tutor --for=condition=Ready --timeout=180s
  show
  show_route

  step "v1.2.0 by canary while the new version answers 503: step 1 fails, the route goes back to 100/0 first"
  curl -fsS -X PUT --data unhealthy "$new_url/admin/mode" >/dev/null
  vel_tutor v1.2.0 | kubectl apply -n demo -f -
  run kubectl wait -n demo dcl/vel-tutor --for=condition=RolledBack --timeout=180s
  show
  show_route
  printf 'users after the rollback: %s of 200 requests reached the new version\n' "$(new_version_share 200)"
  kubectl describe dcl -n demo vel-tutor | sed -n '/^Events:/,$p'
}

demo_blue_green() {
  kubectl apply -n demo -f examples/cgraph-secret.yaml
  # cgraph.yaml verifies https://api.cgraph.org; here the stable test app stands in for it and
  # the second one for the preview's address. The old pods stay 15 s instead of 300 s.
  cgraph() {
    sed -e "s#image: registry.fly.io/cgraph-api:2f1c9e7#image: registry.fly.io/cgraph-api:$1#" \
        -e "s#url: https://api.cgraph.org#url: $stable_url\n    previewURL: $new_url\n    intervalSeconds: 2#" \
        -e "s#scaleDownDelaySeconds: 300#scaleDownDelaySeconds: 15#" \
        -e "s#httpsRedirect: {}#httpsRedirect: {httpURL: \"$redirect_url\"}#" \
        examples/cgraph.yaml
  }
  step "CGraph 2f1c9e7: the first release (migration, then every replica)"
  cgraph 2f1c9e7 | kubectl apply -n demo -f -
  run kubectl wait -n demo dcl/cgraph-api --for=condition=Ready --timeout=180s
  show

  step "3a7d0b1 by blue-green: green starts beside blue, verified through the preview, then switched"
  cgraph 3a7d0b1 | kubectl apply -n demo -f -
  wait_stage cgraph-api Promoted
  show
  step "switched: the app's Service selects green; blue stays 15 s in case the checks fail"
  run kubectl get svc -n demo cgraph-api -o 'jsonpath={.spec.selector}{"\n"}'
  run kubectl wait -n demo dcl/cgraph-api --for=condition=Ready --timeout=180s
  sleep 2
  show
  step "the PodDisruptionBudget (003:169, two machines always running) moved to green with the traffic"
  run kubectl get pdb -n demo cgraph-api -o 'jsonpath={.spec.minAvailable} of revision {.spec.selector.matchLabels.checklist\.dev/revision}{"\n"}'

  step "4c9e2f8 while the new version answers 503: it fails on the preview; users never saw it"
  curl -fsS -X PUT --data unhealthy "$new_url/admin/mode" >/dev/null
  cgraph 4c9e2f8 | kubectl apply -n demo -f -
  run kubectl wait -n demo dcl/cgraph-api --for=condition=RolledBack --timeout=180s
  show
  kubectl describe dcl -n demo cgraph-api | sed -n '/^Events:/,$p'
}
