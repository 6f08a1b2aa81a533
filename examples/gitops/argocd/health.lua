-- Argo CD health check for checklist.dev/DeploymentChecklist (checklist-operator).
--
-- Argo CD runs it with the live object in the global `obj` and reads the table it returns.
-- Install it with argocd-cm.yaml beside this file (the same script, embedded under
-- resource.customizations.health.checklist.dev_DeploymentChecklist).
--
--   metadata.generation not yet observed (no status.observedGeneration, 0, or another
--   generation than metadata.generation)                          -> Progressing
--   condition Stalled=True, or phase Degraded, RolledBack, Failed  -> Degraded
--   phase Ready with condition Ready=True                          -> Healthy
--   phase Suspended (spec.suspend)                                 -> Suspended
--   phase Paused, status.rollout.stage WaitingForPromotion         -> Suspended
--   anything else (Pending, CheckingSecrets, Migrating, RollingOut,
--   Verifying, RunningHook, a timed Paused step, RollingBack, a phase unknown) -> Progressing
--
-- A script from argocd-cm runs without Lua's string library, so this one only uses `..`,
-- tostring, type and ipairs, and never errors on a status of an unexpected shape: every
-- lookup checks that it reads a table.

local function field(value, key)
  if type(value) == "table" then
    return value[key]
  end
  return nil
end

local function text(value)
  if type(value) == "string" then
    return value
  end
  return ""
end

-- The status ("True", "False", "Unknown") of the first condition of the given type, or "".
local function condition(status, kind)
  local conditions = field(status, "conditions")
  if type(conditions) ~= "table" then
    return ""
  end
  for _, c in ipairs(conditions) do
    if field(c, "type") == kind then
      return text(field(c, "status"))
    end
  end
  return ""
end

local hs = {}
local metadata = field(obj, "metadata")
local status = field(obj, "status")
local generation = field(metadata, "generation")
local observed = field(status, "observedGeneration")
local phase = text(field(status, "phase"))
local message = text(field(status, "message"))
if message == "" then
  if phase ~= "" then
    message = "phase " .. phase
  else
    message = "no status message"
  end
end

if type(observed) ~= "number" or observed < 1
    or (type(generation) == "number" and observed ~= generation) then
  hs.status = "Progressing"
  if type(generation) == "number" then
    hs.message = "waiting for the operator to observe generation " .. tostring(generation)
  else
    hs.message = "waiting for the operator to observe the latest generation"
  end
  return hs
end

if condition(status, "Stalled") == "True" or phase == "Degraded" or phase == "RolledBack"
    or phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message
  return hs
end

if phase == "Ready" and condition(status, "Ready") == "True" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end

if phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = message
  return hs
end

if phase == "Paused" and field(field(status, "rollout"), "stage") == "WaitingForPromotion" then
  hs.status = "Suspended"
  hs.message = "waiting for promotion: kubectl checklist promote " .. text(field(metadata, "name"))
    .. "; " .. message
  return hs
end

hs.status = "Progressing"
hs.message = message
return hs
