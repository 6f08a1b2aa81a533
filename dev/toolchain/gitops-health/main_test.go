package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The repository's health check and its argocd-cm copy, from this module's directory.
const (
	healthLua  = "../../../examples/gitops/argocd/health.lua"
	argocdCM   = "../../../examples/gitops/argocd/argocd-cm.yaml"
	argocdKey  = "resource.customizations.health.checklist.dev_DeploymentChecklist"
	promoteFor = "waiting for promotion: kubectl checklist promote "
)

// pinned is what each fixture must read as, written out by hand so that the expectation table
// in expect.go is held to the mapping too: a rule changed there fails here, not only a health
// check that disagrees with it.
var pinned = map[string]struct {
	argo, argoMessage string
	sigs, flux        string
}{
	// A just-created checklist as the API server returned it before the CRD defaulted its
	// status: kstatus skips its generation check when status.observedGeneration is absent and
	// reads a custom resource without conditions as Current. That is the library's rule and
	// cannot change here; the CRD default (next fixture) is what keeps the API server from ever
	// returning this object. Argo CD, through health.lua, still says Progressing.
	"pending-no-status": {Progressing, "waiting for the operator to observe generation 1", Current, Current},
	// The same checklist with the CRD's default status: every reader says in progress.
	"pending-observed-generation-zero": {Progressing, "waiting for the operator to observe generation 1", InProgress, InProgress},
	// The first reconcile was refused (RBAC): phase Pending, Stalled=True.
	"pending-forbidden":            {Degraded, "cannot read Secret shop/dialectic-env: 403 Forbidden: secrets \"dialectic-env\" is forbidden: User \"system:serviceaccount:checklist-system:checklist-operator\" cannot get resource \"secrets\" in API group \"\" in the namespace \"shop\"", Failed, Failed},
	"checking-secrets-stalled":     {Degraded, "secret contract not met: 2 keys invalid: dialectic-env/SECRET_KEY_BASE has 12 characters, needs at least 64; dialectic-env/DATABASE_URL is missing", Failed, Failed},
	"migrating":                    {Progressing, "running the migration Job", InProgress, InProgress},
	"rolling-out":                  {Progressing, "rolling out the new version", InProgress, InProgress},
	"verifying":                    {Progressing, "verifying the new version over HTTP", InProgress, InProgress},
	"paused-timed":                 {Progressing, "canary step 1/2 (10%, 1 of 2 pods) passed its checks; holding until 2026-03-02T10:48:10Z", InProgress, InProgress},
	"paused-waiting-for-promotion": {Suspended, promoteFor + "vel-tutor; canary step 1/2 (25%, 1 of 2 pods) passed its checks; promote with: kubectl annotate dcl vel-tutor checklist.dev/promote=$(date +%s) --overwrite", InProgress, InProgress},
	"ready":                        {Healthy, "verification passed: 5/5", Current, Current},
	"ready-generation-lagging":     {Progressing, "waiting for the operator to observe generation 3", InProgress, InProgress},
	"degraded":                     {Degraded, "continuous verification failed: health: expected status 200, got 503; it is the stable revision, so nothing was rolled back", Failed, Failed},
	"rolling-back":                 {Progressing, "rolling back to ghcr.io/acme/dialectic:1.4.2: verification failed: health: expected status 200, got 503", InProgress, InProgress},
	"rolled-back":                  {Degraded, "rolled back to ghcr.io/acme/dialectic:1.4.2: verification failed: health: expected status 200, got 503; the stable version ghcr.io/acme/dialectic:1.4.2 serves traffic", Failed, Failed},
	"failed":                       {Degraded, "verification failed: https-redirect: cannot connect to dialectic.example.com:80: dns error: failed to lookup address information; there is no stable revision to roll back to: nothing was changed back", Failed, Failed},
	"suspended":                    {Suspended, "suspended: observing and reporting, changing nothing", Current, Current},
	// Suspended part-way through a release: not Ready, so Flux and helm keep waiting.
	"suspended-while-rolling-out": {Suspended, "suspended: observing and reporting, changing nothing", InProgress, InProgress},
}

func readScript(t *testing.T) string {
	t.Helper()
	script, err := loadScript(healthLua)
	if err != nil {
		t.Fatal(err)
	}
	return script
}

func fixtures(t *testing.T) map[string]Object {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/ (%v)", err)
	}
	found := map[string]Object{}
	for _, file := range files {
		objects, err := readFile(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(objects) != 1 {
			t.Fatalf("%s: %d objects, want one DeploymentChecklist", file, len(objects))
		}
		found[strings.TrimSuffix(filepath.Base(file), ".json")] = objects[0]
	}
	return found
}

// Every phase the operator writes has a fixture, and each reads as pinned, through the health
// check, both kstatus libraries and the expectation table alike.
func TestFixturesReadAsPinned(t *testing.T) {
	script := readScript(t)
	found := fixtures(t)
	var names []string
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := pinned[name]; !ok {
			t.Errorf("testdata/%s.json has no pinned reading in main_test.go", name)
		}
	}
	phases := map[string]bool{}
	for _, name := range names {
		want, ok := pinned[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			r := check(script, found[name])
			phases[r.Checklist.Phase] = true
			if r.ArgoError != nil {
				t.Fatalf("the health check failed: %v", r.ArgoError)
			}
			if r.Argo.Status != want.argo || r.Argo.Message != want.argoMessage {
				t.Errorf("Argo CD: %s %q, pinned %s %q", r.Argo.Status, r.Argo.Message, want.argo, want.argoMessage)
			}
			if r.Sigs.Status != want.sigs || r.Sigs.Error != nil {
				t.Errorf("kstatus (sigs.k8s.io/cli-utils): %s (%v), pinned %s", r.Sigs.Status, r.Sigs.Error, want.sigs)
			}
			if r.Flux.Status != want.flux || r.Flux.Error != nil {
				t.Errorf("kstatus (fluxcd/cli-utils): %s (%v), pinned %s", r.Flux.Status, r.Flux.Error, want.flux)
			}
			if r.Expected.Argo != (Health{want.argo, want.argoMessage}) {
				t.Errorf("the expectation table says Argo CD %+v, pinned %s %q", r.Expected.Argo, want.argo, want.argoMessage)
			}
			if r.Expected.Kstatus != want.sigs {
				t.Errorf("the expectation table says kstatus %s, pinned %s", r.Expected.Kstatus, want.sigs)
			}
			if len(r.Mismatches) > 0 {
				t.Errorf("mismatches: %s", strings.Join(r.Mismatches, "; "))
			}
		})
	}
	for name := range pinned {
		if _, ok := found[name]; !ok {
			t.Errorf("pinned reading for %s, but no testdata/%s.json", name, name)
		}
	}
	// Pending has two fixtures without a phase, so it is named by the forbidden one.
	for _, phase := range []string{"Pending", "CheckingSecrets", "Migrating", "RollingOut", "Verifying", "Paused", "Ready", "Degraded", "RollingBack", "RolledBack", "Failed", "Suspended"} {
		if !phases[phase] {
			t.Errorf("no fixture in phase %s", phase)
		}
	}
}

// The command over every fixture: one line each, exit 0.
func TestCheckCommandPasses(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	var stdout, stderr bytes.Buffer
	status := run(append([]string{"check", "--lua", healthLua}, files...), nil, &stdout, &stderr)
	if status != 0 {
		t.Fatalf("exit %d\n%s%s", status, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	// Header, one line per fixture, a blank line, the summary.
	if len(lines) != len(files)+3 {
		t.Errorf("%d lines for %d fixtures:\n%s", len(lines), len(files), stdout.String())
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("all %d checklists read as expected", len(files))) {
		t.Errorf("no summary line:\n%s", stdout.String())
	}
}

// Without --lua the command finds the repository's health check from where it runs.
func TestDefaultHealthCheckIsTheRepositorys(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := run([]string{"check", "testdata/ready.json"}, nil, &stdout, &stderr); status != 0 {
		t.Fatalf("exit %d\n%s%s", status, stdout.String(), stderr.String())
	}
}

// A health check with a wrong mapping is caught: exit 1, every mismatch listed.
func TestWrongHealthCheckIsCaught(t *testing.T) {
	dir := t.TempDir()
	wrong := filepath.Join(dir, "health.lua")
	// Ready=True read as Healthy whatever the phase or generation: the mistake health.lua avoids.
	script := `
hs = {status = "Progressing", message = "?"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" and c.status == "True" then
      hs.status = "Healthy"
    end
  end
end
return hs
`
	if err := os.WriteFile(wrong, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	status := run([]string{"check", "--lua", wrong, "testdata/ready-generation-lagging.json", "testdata/suspended.json", "testdata/degraded.json"}, nil, &stdout, &stderr)
	if status != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", status, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"3 of 3 checklists do not read as expected",
		"testdata/ready-generation-lagging.json; rule \"generation not observed\"): Argo CD: Healthy, expected Progressing",
		"testdata/suspended.json; rule \"Suspended while Ready\"): Argo CD: Healthy, expected Suspended",
		"testdata/degraded.json; rule \"Stalled=True\"): Argo CD: Progressing, expected Degraded",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("no %q in\n%s", want, stdout.String())
		}
	}
}

// Input that is not a DeploymentChecklist, or not there, exits 2 with one line.
func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	brokenLua := write("broken.lua", "return {status = ")
	cases := map[string][]string{
		"a missing file":    {"check", "--lua", healthLua, filepath.Join(dir, "absent.json")},
		"not JSON":          {"check", "--lua", healthLua, write("garbage.json", "apiVersion: v1\n")},
		"a JSON list":       {"check", "--lua", healthLua, write("array.json", "[]")},
		"a Deployment":      {"check", "--lua", healthLua, write("deployment.json", `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}`)},
		"another group":     {"check", "--lua", healthLua, write("other.json", `{"apiVersion": "example.com/v1", "kind": "DeploymentChecklist", "metadata": {"name": "x"}}`)},
		"a list with a Pod": {"check", "--lua", healthLua, write("list.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]}`)},
		"items not a list":  {"check", "--lua", healthLua, write("items.json", `{"apiVersion": "v1", "kind": "List", "items": {}}`)},
		"a missing script":  {"check", "--lua", filepath.Join(dir, "absent.lua"), "testdata/ready.json"},
		"a broken script":   {"check", "--lua", brokenLua, "testdata/ready.json"},
		"no command":        {"testdata/ready.json"},
		"no file":           {"check"},
		"an unknown flag":   {"check", "--luaa", healthLua, "testdata/ready.json"},
		"--lua with no arg": {"check", "testdata/ready.json", "--lua"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if status := run(args, nil, &stdout, &stderr); status != 2 {
				t.Fatalf("exit %d, want 2\n%s%s", status, stdout.String(), stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("printed on stdout: %s", stdout.String())
			}
			if lines := strings.Count(strings.TrimRight(stderr.String(), "\n"), "\n") + 1; lines != 1 {
				t.Errorf("%d lines on stderr, want one:\n%s", lines, stderr.String())
			}
		})
	}
}

// kubectl get -o json prints a List; the API server's own list leaves kind off its items. Both
// are read, as is standard input.
func TestListsAndStandardInput(t *testing.T) {
	found := fixtures(t)
	var items []any
	for _, name := range []string{"ready", "degraded", "paused-timed"} {
		items = append(items, found[name].Object)
	}
	list, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	var stdout, stderr bytes.Buffer
	if status := run([]string{"check", "--lua", healthLua, "-"}, bytes.NewReader(list), &stdout, &stderr); status != 0 {
		t.Fatalf("exit %d\n%s%s", status, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "all 3 checklists read as expected") {
		t.Errorf("not three checklists:\n%s", stdout.String())
	}

	bare := deepCopy(found["rolled-back"].Object).(map[string]any)
	delete(bare, "kind")
	delete(bare, "apiVersion")
	apiList, _ := json.Marshal(map[string]any{"apiVersion": "checklist.dev/v1alpha1", "kind": "DeploymentChecklistList", "items": []any{bare}})
	path := filepath.Join(t.TempDir(), "list.json")
	if err := os.WriteFile(path, apiList, 0o644); err != nil {
		t.Fatal(err)
	}
	objects, err := readFile(path, nil)
	if err != nil || len(objects) != 1 {
		t.Fatalf("%d objects, %v", len(objects), err)
	}
	if r := check(readScript(t), objects[0]); r.Argo.Status != Degraded || len(r.Mismatches) > 0 {
		t.Errorf("argo %s, mismatches %q", r.Argo.Status, r.Mismatches)
	}

	stdout.Reset()
	stderr.Reset()
	empty := strings.NewReader(`{"apiVersion": "v1", "kind": "List", "items": []}`)
	if status := run([]string{"check", "--lua", healthLua, "-"}, empty, &stdout, &stderr); status != 0 {
		t.Errorf("an empty list: exit %d\n%s", status, stderr.String())
	}
}

// Hostile or malformed objects never make the health check fail: it always returns a valid
// health code and a message, as Argo CD would show it.
func TestHealthCheckSurvivesHostileInput(t *testing.T) {
	script := readScript(t)
	meta := map[string]any{"name": "x", "namespace": "shop", "generation": int64(2)}
	withStatus := func(status any) map[string]any {
		return map[string]any{"apiVersion": "checklist.dev/v1alpha1", "kind": "DeploymentChecklist", "metadata": meta, "status": status}
	}
	observed := func(extra map[string]any) map[string]any {
		status := map[string]any{"observedGeneration": int64(2)}
		for k, v := range extra {
			status[k] = v
		}
		return withStatus(status)
	}
	cases := map[string]struct {
		obj  map[string]any
		want string // "" when any valid code will do
	}{
		"an empty object":                {map[string]any{}, Progressing},
		"metadata a string":              {map[string]any{"metadata": "x", "status": map[string]any{"observedGeneration": int64(1), "phase": "Ready"}}, Progressing},
		"status a string":                {withStatus("Ready"), Progressing},
		"status a number":                {withStatus(int64(42)), Progressing},
		"status a list":                  {withStatus([]any{"Ready"}), Progressing},
		"status null":                    {withStatus(nil), Progressing},
		"observedGeneration a string":    {withStatus(map[string]any{"observedGeneration": "2", "phase": "Ready"}), Progressing},
		"observedGeneration a fraction":  {withStatus(map[string]any{"observedGeneration": 1.5, "phase": "Ready"}), Progressing},
		"observedGeneration negative":    {withStatus(map[string]any{"observedGeneration": int64(-1)}), Progressing},
		"generation a string":            {map[string]any{"metadata": map[string]any{"name": "x", "generation": "2"}, "status": map[string]any{"observedGeneration": int64(2), "phase": "Suspended"}}, Suspended},
		"conditions a string":            {observed(map[string]any{"phase": "Ready", "conditions": "Ready=True"}), Progressing},
		"conditions a map":               {observed(map[string]any{"phase": "Ready", "conditions": map[string]any{"Ready": map[string]any{"type": "Ready", "status": "True"}}}), Progressing},
		"conditions of every type":       {observed(map[string]any{"phase": "Ready", "conditions": []any{"Ready", int64(3), nil, true, []any{}, map[string]any{"type": int64(5)}, map[string]any{"type": "Ready", "status": true}}}), Progressing},
		"a Stalled condition, no status": {observed(map[string]any{"phase": "Ready", "conditions": []any{map[string]any{"type": "Stalled"}}}), Progressing},
		"phase a number":                 {observed(map[string]any{"phase": int64(7), "message": map[string]any{"a": "b"}}), Progressing},
		"phase unknown":                  {observed(map[string]any{"phase": "Exploded", "message": "boom"}), Progressing},
		"rollout a string":               {observed(map[string]any{"phase": "Paused", "rollout": "WaitingForPromotion"}), Progressing},
		"rollout stage a list":           {observed(map[string]any{"phase": "Paused", "rollout": map[string]any{"stage": []any{"WaitingForPromotion"}}}), Progressing},
		"name missing while waiting":     {map[string]any{"metadata": map[string]any{"generation": int64(2)}, "status": map[string]any{"observedGeneration": int64(2), "phase": "Paused", "rollout": map[string]any{"stage": "WaitingForPromotion"}}}, Suspended},
		"message very long":              {observed(map[string]any{"phase": "Failed", "message": strings.Repeat("x", 1<<20)}), Degraded},
		"being deleted":                  {map[string]any{"metadata": map[string]any{"name": "x", "deletionTimestamp": "2026-03-02T10:00:00Z"}, "status": "garbage"}, Progressing},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := argoHealth(script, c.obj)
			if err != nil {
				t.Fatalf("the health check failed: %v", err)
			}
			if !validHealth(h) {
				t.Fatalf("returned %+v", h)
			}
			if c.want != "" && h.Status != c.want {
				t.Errorf("%s (%q), want %s", h.Status, h.Message, c.want)
			}
			// The table expects what the health check says, on nonsense too.
			if e := expect(readChecklist(c.obj)); e.Argo != h {
				t.Errorf("health check %+v, expectation table %+v", h, e.Argo)
			}
		})
	}
}

// Every fixture with random parts of it replaced by values of the wrong type: the health check
// never fails, and agrees with the expectation table.
func TestHealthCheckSurvivesMangledFixtures(t *testing.T) {
	script := readScript(t)
	random := rand.New(rand.NewSource(20260302))
	junk := []any{nil, "", "True", int64(0), int64(-3), 2.5, true, []any{}, []any{"x", nil}, map[string]any{}, map[string]any{"type": "Stalled", "status": "True"}}
	seen := map[string]int{}
	for name, obj := range fixtures(t) {
		for i := 0; i < 150; i++ {
			mangled := deepCopy(obj.Object).(map[string]any)
			for j := 0; j < 1+random.Intn(3); j++ {
				mangle(random, mangled, junk)
			}
			h, err := argoHealth(script, mangled)
			if err != nil || !validHealth(h) {
				data, _ := json.Marshal(mangled["status"])
				t.Fatalf("%s, mangling %d: %+v, %v\nstatus: %s", name, i, h, err, data)
			}
			if e := expect(readChecklist(mangled)); e.Argo != h {
				data, _ := json.Marshal(mangled["status"])
				t.Fatalf("%s, mangling %d: health check %+v, expectation table %+v\nstatus: %s", name, i, h, e.Argo, data)
			}
			seen[h.Status]++
		}
	}
	// The manglings reach the status: every health code the check gives comes up.
	for _, code := range []string{Healthy, Progressing, Degraded, Suspended} {
		if seen[code] == 0 {
			t.Errorf("no mangled fixture read %s (%v): the mangling misses the status", code, seen)
		}
	}
}

// mangle replaces one value, found by a random walk from the top of obj, with junk.
func mangle(random *rand.Rand, obj map[string]any, junk []any) {
	var node any = obj
	for depth := 0; ; depth++ {
		switch v := node.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			if len(keys) == 0 {
				return
			}
			sort.Strings(keys)
			key := keys[random.Intn(len(keys))]
			if depth == 0 && key != "status" && key != "metadata" && random.Intn(4) > 0 {
				key = "status"
				if _, ok := v[key]; !ok {
					return
				}
			}
			if random.Intn(3) == 0 || !isContainer(v[key]) {
				v[key] = deepCopy(junk[random.Intn(len(junk))])
				return
			}
			node = v[key]
		case []any:
			if len(v) == 0 {
				return
			}
			i := random.Intn(len(v))
			if random.Intn(3) == 0 || !isContainer(v[i]) {
				v[i] = deepCopy(junk[random.Intn(len(junk))])
				return
			}
			node = v[i]
		default:
			return
		}
	}
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func validHealth(h Health) bool {
	switch h.Status {
	case Healthy, Progressing, Degraded, Suspended:
		return h.Message != ""
	}
	return false
}

// argocd-cm.yaml embeds the same script as health.lua, byte for byte.
func TestArgoCDConfigMapEmbedsTheHealthCheck(t *testing.T) {
	data, err := os.ReadFile(argocdCM)
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   map[string]any    `json:"metadata"`
		Data       map[string]string `json:"data"`
	}
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Metadata["name"] != "argocd-cm" {
		t.Errorf("not the argocd-cm ConfigMap: %s %s %v", cm.APIVersion, cm.Kind, cm.Metadata["name"])
	}
	embedded, ok := cm.Data[argocdKey]
	if !ok {
		t.Fatalf("no data.%s in %s", argocdKey, argocdCM)
	}
	if script := readScript(t); embedded != script {
		t.Errorf("data.%s in %s differs from %s: copy health.lua into it again", argocdKey, argocdCM, healthLua)
	}
}
