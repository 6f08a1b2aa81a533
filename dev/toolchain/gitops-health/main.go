// Command gitops-health reads DeploymentChecklist objects the way GitOps tools do and checks
// that each tool's reading is the one the checklist's phase and conditions call for.
//
// Three readings per object: Argo CD's, by running the custom health check
// (examples/gitops/argocd/health.lua) in gopher-lua as Argo CD runs it; kstatus's, from
// sigs.k8s.io/cli-utils; and kstatus's from github.com/fluxcd/cli-utils, the fork Flux and
// helm v4 (--wait=watcher) use. Each is compared with one expectation table (expect.go).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	fluxstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	sigsstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

const usage = `gitops-health: how Argo CD, kstatus and Flux read DeploymentChecklist objects, checked
against the readings each phase calls for.

Usage:
  gitops-health check [--lua PATH] FILE...
  gitops-health --help

FILE is a JSON file ("-": standard input) holding one DeploymentChecklist, or a list of them
(kind List with items), as 'kubectl get dcl NAME -o json' and 'kubectl get dcl -o json' print.

For each checklist it prints one line: the name, metadata.generation/status.observedGeneration,
the phase, the Argo CD health that the health check gives (run in gopher-lua as Argo CD runs a
script from argocd-cm), the kstatus result of sigs.k8s.io/cli-utils and that of
github.com/fluxcd/cli-utils (what Flux and helm --wait=watcher read), and their messages.

  --lua PATH   the Argo CD health check to run. Default: examples/gitops/argocd/health.lua in
               the nearest directory, from the current one upwards, that has it (the
               repository's copy when run anywhere inside the repository).

Exit status: 0 when every checklist reads as expected, 1 when some do not (each mismatch is
listed), 2 on bad input (an unreadable file, JSON that is not a DeploymentChecklist or a list
of them, a health check that does not load) or bad usage.
`

// defaultLua is where the health check is, relative to the repository root.
const defaultLua = "examples/gitops/argocd/health.lua"

// errBadInput marks errors that exit 2.
var errBadInput = errors.New("bad input")

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command: its exit status for args.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var luaPath string
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-h" || arg == "--help" || arg == "help":
			fmt.Fprint(stdout, usage)
			return 0
		case arg == "--lua" || arg == "-lua":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "gitops-health: --lua needs a path (see --help)")
				return 2
			}
			i++
			luaPath = args[i]
		case strings.HasPrefix(arg, "--lua="):
			luaPath = strings.TrimPrefix(arg, "--lua=")
		case arg == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(arg, "-") && arg != "-":
			fmt.Fprintf(stderr, "gitops-health: unknown flag %s (see --help)\n", arg)
			return 2
		default:
			positional = append(positional, arg)
		}
	}
	if len(positional) == 0 || positional[0] != "check" {
		fmt.Fprintln(stderr, "gitops-health: usage: gitops-health check [--lua PATH] FILE... (see --help)")
		return 2
	}
	files := positional[1:]
	if len(files) == 0 {
		fmt.Fprintln(stderr, "gitops-health: check needs at least one FILE (see --help)")
		return 2
	}

	script, err := loadScript(luaPath)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-health: %v\n", err)
		return 2
	}
	var objects []Object
	for _, file := range files {
		found, err := readFile(file, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "gitops-health: %v\n", err)
			return 2
		}
		objects = append(objects, found...)
	}
	if len(objects) == 0 {
		fmt.Fprintln(stderr, "gitops-health: no DeploymentChecklist in the input")
		return 0
	}
	results := make([]Result, 0, len(objects))
	for _, obj := range objects {
		results = append(results, check(script, obj))
	}
	report(stdout, results, len(files) > 1)
	for _, r := range results {
		if len(r.Mismatches) > 0 {
			return 1
		}
	}
	return 0
}

// loadScript reads the health check (from path, or found upwards of the current directory) and
// makes sure it compiles.
func loadScript(path string) (string, error) {
	if path == "" {
		found, err := findUpwards(defaultLua)
		if err != nil {
			return "", err
		}
		path = found
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the health check: %w", err)
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	if _, err := l.LoadString(string(data)); err != nil {
		return "", fmt.Errorf("%s does not compile: %s", path, oneLine(err.Error()))
	}
	return string(data), nil
}

func findUpwards(relative string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, relative)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in this directory or any above it: pass --lua PATH", relative)
		}
		dir = parent
	}
}

// Object is one DeploymentChecklist of the input and where it came from.
type Object struct {
	Source string
	Object map[string]any
}

// readFile decodes one FILE into its checklists. Numbers decode as the API machinery decodes
// them (int64 when integral), as Argo CD and kstatus see them.
func readFile(file string, stdin io.Reader) ([]Object, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadInput, err)
	}
	name := file
	if file == "-" {
		name = "standard input"
	}
	var top map[string]any
	if err := utiljson.Unmarshal(data, &top); err != nil || top == nil {
		reason := "not a JSON object"
		if err != nil {
			reason = oneLine(err.Error())
		}
		return nil, fmt.Errorf("%w: %s: %s", errBadInput, name, reason)
	}
	items, isList := top["items"]
	if !isList {
		if err := isChecklist(top); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errBadInput, name, err)
		}
		return []Object{{Source: name, Object: top}}, nil
	}
	list, ok := items.([]any)
	if !ok && items != nil {
		return nil, fmt.Errorf("%w: %s: items is not a list", errBadInput, name)
	}
	// An API server list (DeploymentChecklistList) leaves kind and apiVersion off its items.
	listKind, _ := top["kind"].(string)
	implied := ""
	if listKind == "DeploymentChecklistList" {
		implied, _ = top["apiVersion"].(string)
	}
	var objects []Object
	for i, item := range list {
		obj, ok := item.(map[string]any)
		source := fmt.Sprintf("%s item %d", name, i)
		if !ok {
			return nil, fmt.Errorf("%w: %s: not an object", errBadInput, source)
		}
		if implied != "" {
			if _, set := obj["kind"]; !set {
				obj["kind"] = "DeploymentChecklist"
				obj["apiVersion"] = implied
			}
		}
		if err := isChecklist(obj); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errBadInput, source, err)
		}
		objects = append(objects, Object{Source: source, Object: obj})
	}
	return objects, nil
}

func isChecklist(obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	if kind != "DeploymentChecklist" || !strings.HasPrefix(apiVersion, "checklist.dev/") {
		return fmt.Errorf("not a DeploymentChecklist (apiVersion %q, kind %q)", apiVersion, kind)
	}
	if _, ok := obj["metadata"].(map[string]any); !ok {
		return errors.New("a DeploymentChecklist without metadata")
	}
	return nil
}

// Result is the three readings of one checklist and how they differ from the expected ones.
type Result struct {
	Object     Object
	Checklist  Checklist
	Expected   Expected
	Argo       Health
	ArgoError  error
	Sigs       Reading
	Flux       Reading
	Mismatches []string
}

// Reading is a kstatus result.
type Reading struct {
	Status  string
	Message string
	Error   error
}

// check reads one checklist three ways and compares each reading with the expected one.
func check(script string, obj Object) Result {
	r := Result{Object: obj, Checklist: readChecklist(obj.Object)}
	r.Expected = expect(r.Checklist)
	r.Argo, r.ArgoError = argoHealth(script, deepCopy(obj.Object).(map[string]any))
	if r.ArgoError != nil {
		r.Argo = Health{Status: Unknown, Message: oneLine(r.ArgoError.Error())}
	}
	r.Sigs = sigsKstatus(deepCopy(obj.Object).(map[string]any))
	r.Flux = fluxKstatus(deepCopy(obj.Object).(map[string]any))

	if r.ArgoError != nil {
		r.Mismatches = append(r.Mismatches, fmt.Sprintf("Argo CD: the health check failed (%s), expected %s", r.Argo.Message, r.Expected.Argo.Status))
	} else {
		if r.Argo.Status != r.Expected.Argo.Status {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("Argo CD: %s, expected %s", r.Argo.Status, r.Expected.Argo.Status))
		}
		if r.Argo.Message != r.Expected.Argo.Message {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("Argo CD message: %q, expected %q", r.Argo.Message, r.Expected.Argo.Message))
		}
	}
	for _, k := range []struct {
		what    string
		reading Reading
	}{{"kstatus (sigs.k8s.io/cli-utils)", r.Sigs}, {"kstatus (fluxcd/cli-utils)", r.Flux}} {
		switch {
		case k.reading.Error != nil:
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("%s: error %s, expected %s", k.what, oneLine(k.reading.Error.Error()), r.Expected.Kstatus))
		case k.reading.Status != r.Expected.Kstatus:
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("%s: %s, expected %s", k.what, k.reading.Status, r.Expected.Kstatus))
		}
	}
	return r
}

func sigsKstatus(obj map[string]any) Reading {
	res, err := sigsstatus.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		return Reading{Status: "error", Message: oneLine(err.Error()), Error: err}
	}
	return Reading{Status: res.Status.String(), Message: res.Message}
}

func fluxKstatus(obj map[string]any) Reading {
	res, err := fluxstatus.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		return Reading{Status: "error", Message: oneLine(err.Error()), Error: err}
	}
	return Reading{Status: res.Status.String(), Message: res.Message}
}

// report prints one aligned line per checklist (with the file it came from when there are
// several), then every mismatch.
func report(out io.Writer, results []Result, sources bool) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if sources {
		fmt.Fprint(w, "FILE\t")
	}
	fmt.Fprintln(w, "CHECKLIST\tGEN/OBSERVED\tPHASE\tARGO CD\tKSTATUS\tFLUX KSTATUS\tVERDICT\tMESSAGES")
	for _, r := range results {
		if sources {
			fmt.Fprintf(w, "%s\t", r.Object.Source)
		}
		verdict := "ok"
		if len(r.Mismatches) > 0 {
			verdict = "MISMATCH"
		}
		messages := "argo: " + r.Argo.Message
		if r.Sigs.Message != r.Argo.Message {
			messages += " | kstatus: " + r.Sigs.Message
		}
		if r.Flux.Message != r.Sigs.Message {
			messages += " | flux: " + r.Flux.Message
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			label(r), generations(r.Checklist), orDash(r.Checklist.Phase),
			r.Argo.Status, r.Sigs.Status, r.Flux.Status, verdict, oneLine(messages))
	}
	_ = w.Flush()
	var failed []Result
	for _, r := range results {
		if len(r.Mismatches) > 0 {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		if len(results) == 1 {
			fmt.Fprintln(out, "\nthe checklist reads as expected")
		} else {
			fmt.Fprintf(out, "\nall %d checklists read as expected\n", len(results))
		}
		return
	}
	sort.SliceStable(failed, func(i, j int) bool { return label(failed[i]) < label(failed[j]) })
	fmt.Fprintf(out, "\n%d of %d %s not read as expected:\n", len(failed), len(results), plural(len(results), "checklist does", "checklists do"))
	for _, r := range failed {
		for _, m := range r.Mismatches {
			fmt.Fprintf(out, "  %s (%s; rule %q): %s\n", label(r), r.Object.Source, r.Expected.Rule, m)
		}
	}
}

func label(r Result) string {
	c := r.Checklist
	switch {
	case c.Name == "":
		return r.Object.Source
	case c.Namespace == "":
		return c.Name
	default:
		return c.Namespace + "/" + c.Name
	}
}

func generations(c Checklist) string {
	gen, observed := "-", "-"
	if c.HasGeneration {
		gen = luaNumber(c.Generation)
	}
	if c.HasObserved {
		observed = luaNumber(c.Observed)
	}
	return gen + "/" + observed
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// deepCopy copies a decoded JSON value, so no reading can change what the next one sees.
func deepCopy(value any) any {
	switch v := value.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = deepCopy(item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = deepCopy(item)
		}
		return out
	}
	return value
}
