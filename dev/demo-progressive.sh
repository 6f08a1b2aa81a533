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

# vel-tutor.yaml at image $1. It verifies https://vel-tutor.fly.dev; here the stable test app
# stands in for it and the second one for the canary Service's address. Rounds every 2 s instead
# of 30 s; the 30-minute pause is left out, so step 1 waits for a person to promote. The test app
# reports each dependency as connected, where the real one says "available" for the AI APIs. Its
# error-rate gate asks the demo's Prometheus (the operator's --prometheus-url).
vel_tutor() {
  sed -e "s#image: flyio/vel-tutor:v1.0.0#image: flyio/vel-tutor:$1#" \
      -e "s#url: https://vel-tutor.fly.dev#url: $stable_url\n    canaryURL: $new_url#" \
      -e "s#initialDelaySeconds: 10\$#initialDelaySeconds: 1#" \
      -e "s#intervalSeconds: 30#intervalSeconds: 2#" \
      -e "s#{weight: 10, pauseSeconds: 1800}#{weight: 10}#" \
      -e "s#httpsRedirect: {}#httpsRedirect: {httpURL: \"$redirect_url\"}#" \
      -e "s#path: /api/auth/login#path: /users/log_in#" \
      -e "s#: available\$#: connected#" \
      examples/vel-tutor.yaml
}

# The revision vel_tutor $1 gets (the addresses are not part of it), as `kubectl checklist lint`
# prints it: the label the test app playing that version exports its metrics under.
vel_tutor_revision() {
  stable_url=http://127.0.0.1:1 new_url=http://127.0.0.1:1 redirect_url=http://127.0.0.1:1 \
    vel_tutor "$1" >"$state/vel-tutor-$1.yaml"
  "$bin/kubectl-checklist" lint --offline -f "$state/vel-tutor-$1.yaml" |
    sed -n 's/^    revision \([0-9a-f]*\):.*/\1/p'
}

demo_canary() {
  kubectl apply -n demo -f examples/vel-tutor-secret.yaml
  step "vel_tutor v1.0.0: the first release has nothing to protect, so it goes straight to every replica"
  vel_tutor v1.0.0 | kubectl apply -n demo -f -
  run kubectl wait -n demo dcl/vel-tutor --for=condition=Ready --timeout=180s
  show

  step "v1.1.0 by canary: step 1 runs ceil(10% x 2) = 1 new pod beside both stable pods"
  vel_tutor v1.1.0 | kubectl apply -n demo -f -
  wait_stage vel-tutor WaitingForPromotion
  show
  run kubectl checklist status -n demo vel-tutor
  step "step 1 passed its checks against the canary Service; a person promotes"
  run kubectl checklist promote -n demo vel-tutor
  run kubectl wait -n demo dcl/vel-tutor --for=condition=Ready --timeout=180s
  show

  step "v1.2.0 by canary while the new version answers 503: step 1 fails, the canary goes"
  curl -fsS -X PUT --data unhealthy "$new_url/admin/mode" >/dev/null
  vel_tutor v1.2.0 | kubectl apply -n demo -f -
  run kubectl wait -n demo dcl/vel-tutor --for=condition=RolledBack --timeout=180s
  show
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

  step "4c9e2f8 while the new version answers 503: it fails on the preview; users never saw it"
  curl -fsS -X PUT --data unhealthy "$new_url/admin/mode" >/dev/null
  cgraph 4c9e2f8 | kubectl apply -n demo -f -
  run kubectl wait -n demo dcl/cgraph-api --for=condition=RolledBack --timeout=180s
  show
  kubectl describe dcl -n demo cgraph-api | sed -n '/^Events:/,$p'
}
