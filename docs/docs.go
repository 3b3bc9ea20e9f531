// Package docs holds the published documents the code reads itself: the
// scenario format's JSON Schema (scenario.schema.json, written by make
// schema from internal/scenario's types), which the scenario loader
// validates every file against, so what editors are told and what the
// loader takes cannot drift apart.
package docs

import (
	"bytes"
	_ "embed"
)

//go:embed scenario.schema.json
var scenarioSchema []byte

// ScenarioSchemaID is the published schema's $id (internal/scenario/schema.ID).
const ScenarioSchemaID = "https://github.com/imagectx/conformance/docs/scenario.schema.json"

// ScenarioSchema returns a copy of docs/scenario.schema.json.
func ScenarioSchema() []byte { return bytes.Clone(scenarioSchema) }
