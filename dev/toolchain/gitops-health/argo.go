package main

import (
	"context"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Argo CD's health codes (gitops-engine pkg/health).
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

// Health is what Argo CD makes of an object: a health code and a message.
type Health struct {
	Status  string
	Message string
}

// argoHealth is the health Argo CD gives obj with script as its custom health check, computed
// the way Argo CD computes it:
//
//   - an object with metadata.deletionTimestamp is Progressing "Pending deletion" before any
//     script runs (gitops-engine health.GetResourceHealth);
//   - otherwise the script runs in a fresh gopher-lua state with only the package, base and table
//     libraries open (a script from argocd-cm runs with useOpenLibs false; Argo CD also opens a
//     restricted os library, which this check leaves out: health.lua does not use it), the
//     object in the global `obj`, and a one second deadline (util/lua runLua);
//   - the value the script returns must be a table; its status must be one of the health codes,
//     else Argo CD shows Unknown "Lua returned an invalid health status" (ExecuteHealthLua).
//
// An error is what Argo CD would show as Unknown with the error as its message.
func argoHealth(script string, obj map[string]any) (Health, error) {
	if metadata, ok := obj["metadata"].(map[string]any); ok && metadata["deletionTimestamp"] != nil {
		return Health{Status: Progressing, Message: "Pending deletion"}, nil
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return Health{}, fmt.Errorf("opening the Lua %s library: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return Health{}, err
	}
	returned := l.Get(-1)
	table, ok := returned.(*lua.LTable)
	if !ok {
		return Health{}, fmt.Errorf("expect table output from Lua script, not %s", returned.Type())
	}
	status, err := stringField(table, "status")
	if err != nil {
		return Health{}, err
	}
	message, err := stringField(table, "message")
	if err != nil {
		return Health{}, err
	}
	switch status {
	case Healthy, Progressing, Degraded, Suspended, Missing, Unknown:
		return Health{Status: status, Message: message}, nil
	}
	return Health{Status: Unknown, Message: "Lua returned an invalid health status"}, nil
}

// stringField reads a string field of the returned table as Argo CD's JSON round trip does: a
// missing field is "", another type is an error.
func stringField(table *lua.LTable, key string) (string, error) {
	switch value := table.RawGetString(key).(type) {
	case *lua.LNilType:
		return "", nil
	case lua.LString:
		return string(value), nil
	default:
		return "", fmt.Errorf("the returned table's %s is a %s, not a string", key, value.Type())
	}
}

// toLua converts a decoded JSON value to Lua as Argo CD's decodeValue does: numbers (int64 from
// the object's JSON, or float64) become numbers, lists tables with 1-based indices, objects
// tables with string keys, null and anything else nil.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case map[string]any:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(l, item))
		}
		return table
	}
	return lua.LNil
}
