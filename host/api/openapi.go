package api

import _ "embed"

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document of the admin API and of the
// public routes (webhooks, job status, health, metrics). Callers must not
// modify it.
func OpenAPI() []byte { return openAPIDoc }
