package main

import (
	"fmt"
)

// kstatus results (sigs.k8s.io/cli-utils and github.com/fluxcd/cli-utils spell them alike).
const (
	InProgress  = "InProgress"
	Current     = "Current"
	Failed      = "Failed"
	Terminating = "Terminating"
)

// Checklist is the part of a DeploymentChecklist the expectations read, taken from the object
// without assuming any field has the right type.
type Checklist struct {
	Name, Namespace string
	Deleting        bool
	// Generation is metadata.generation, when it is a number.
	Generation    float64
	HasGeneration bool
	// Observed is status.observedGeneration, when it is a number.
	Observed    float64
	HasObserved bool
	Phase       string
	Message     string
	// Conditions maps a condition type to the status of the first condition of that type.
	Conditions    map[string]string
	HasConditions bool
	RolloutStage  string
}

// rule is one line of the expectation table: the first rule whose match holds says what Argo CD
// (with health.lua) and kstatus should make of a checklist.
type rule struct {
	name    string
	match   func(c Checklist) bool
	argo    string
	message func(c Checklist) string
	kstatus string
}

// expectations is the one table both columns are checked against. Order matters.
var expectations = []rule{
	{
		name:    "being deleted",
		match:   func(c Checklist) bool { return c.Deleting },
		argo:    Progressing,
		message: func(Checklist) string { return "Pending deletion" },
		kstatus: Terminating,
	},
	{
		// kstatus skips its generation check when status.observedGeneration is absent and, with
		// no conditions either, reads any custom resource as Current. The API server never
		// returns a checklist like this once the CRD defaults status to {observedGeneration: 0};
		// health.lua still says Progressing for it.
		name: "no status.observedGeneration and no conditions",
		match: func(c Checklist) bool {
			return !c.HasObserved && !c.HasConditions
		},
		argo:    Progressing,
		message: waitingForGeneration,
		kstatus: Current,
	},
	{
		name: "generation not observed",
		match: func(c Checklist) bool {
			return !c.HasObserved || c.Observed < 1 || (c.HasGeneration && c.Observed != c.Generation)
		},
		argo:    Progressing,
		message: waitingForGeneration,
		kstatus: InProgress,
	},
	{
		name:    "Stalled=True",
		match:   func(c Checklist) bool { return c.Conditions["Stalled"] == "True" },
		argo:    Degraded,
		message: statusMessage,
		kstatus: Failed,
	},
	{
		name: "Degraded, RolledBack or Failed",
		match: func(c Checklist) bool {
			return c.Phase == "Degraded" || c.Phase == "RolledBack" || c.Phase == "Failed"
		},
		argo:    Degraded,
		message: statusMessage,
		kstatus: Failed,
	},
	{
		name:    "Ready with Ready=True",
		match:   func(c Checklist) bool { return c.Phase == "Ready" && c.Conditions["Ready"] == "True" },
		argo:    Healthy,
		message: statusMessage,
		kstatus: Current,
	},
	{
		// Suspended at rest: what serves passed its checklist, so a GitOps wait may go on.
		name:    "Suspended while Ready",
		match:   func(c Checklist) bool { return c.Phase == "Suspended" && c.Conditions["Ready"] == "True" },
		argo:    Suspended,
		message: statusMessage,
		kstatus: Current,
	},
	{
		// Suspended part-way through a release (Ready=False): the release is not done, and a
		// GitOps wait must not pass it; kstatus reads the Ready condition and says InProgress.
		name:    "Suspended before Ready",
		match:   func(c Checklist) bool { return c.Phase == "Suspended" },
		argo:    Suspended,
		message: statusMessage,
		kstatus: InProgress,
	},
	{
		name: "Paused, waiting for promotion",
		match: func(c Checklist) bool {
			return c.Phase == "Paused" && c.RolloutStage == "WaitingForPromotion"
		},
		argo: Suspended,
		message: func(c Checklist) string {
			return "waiting for promotion: kubectl checklist promote " + c.Name + "; " + statusMessage(c)
		},
		kstatus: InProgress,
	},
	{
		// Pending, CheckingSecrets (not stalled), Migrating, RollingOut, Verifying, a timed
		// Paused step, RollingBack, a phase this table does not know.
		name:    "in progress",
		match:   func(Checklist) bool { return true },
		argo:    Progressing,
		message: statusMessage,
		kstatus: InProgress,
	},
}

// Expected is what the table says of one checklist.
type Expected struct {
	Rule    string
	Argo    Health
	Kstatus string
}

func expect(c Checklist) Expected {
	for _, r := range expectations {
		if r.match(c) {
			return Expected{Rule: r.name, Argo: Health{Status: r.argo, Message: r.message(c)}, Kstatus: r.kstatus}
		}
	}
	panic("the last expectation matches every checklist")
}

func waitingForGeneration(c Checklist) string {
	if c.HasGeneration {
		return "waiting for the operator to observe generation " + luaNumber(c.Generation)
	}
	return "waiting for the operator to observe the latest generation"
}

// statusMessage is status.message, or a stand-in when it is empty.
func statusMessage(c Checklist) string {
	switch {
	case c.Message != "":
		return c.Message
	case c.Phase != "":
		return "phase " + c.Phase
	default:
		return "no status message"
	}
}

// readChecklist takes what the expectations need from a decoded object.
func readChecklist(obj map[string]any) Checklist {
	c := Checklist{Conditions: map[string]string{}}
	metadata, _ := obj["metadata"].(map[string]any)
	c.Name, _ = metadata["name"].(string)
	c.Namespace, _ = metadata["namespace"].(string)
	c.Deleting = metadata["deletionTimestamp"] != nil
	if isNumber(metadata["generation"]) {
		c.Generation, c.HasGeneration = toFloat(metadata["generation"]), true
	}
	status, ok := obj["status"].(map[string]any)
	if !ok {
		return c
	}
	if isNumber(status["observedGeneration"]) {
		c.Observed, c.HasObserved = toFloat(status["observedGeneration"]), true
	}
	c.Phase, _ = status["phase"].(string)
	c.Message, _ = status["message"].(string)
	if rollout, ok := status["rollout"].(map[string]any); ok {
		c.RolloutStage, _ = rollout["stage"].(string)
	}
	conditions, _ := status["conditions"].([]any)
	c.HasConditions = len(conditions) > 0
	for _, item := range conditions {
		condition, _ := item.(map[string]any)
		kind, _ := condition["type"].(string)
		if _, seen := c.Conditions[kind]; kind == "" || seen {
			continue
		}
		c.Conditions[kind], _ = condition["status"].(string)
	}
	return c
}

func isNumber(value any) bool {
	switch value.(type) {
	case int64, int, float64:
		return true
	}
	return false
}

func toFloat(value any) float64 {
	switch v := value.(type) {
	case int64:
		return float64(v)
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// luaNumber formats a number as Lua's tostring does in gopher-lua.
func luaNumber(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprint(f)
}
