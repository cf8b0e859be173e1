// Package api holds the wire types of hookhost's admin API: the JSON bodies
// the server answers and accepts, the RFC 9457 problem type every error
// becomes, and the OpenAPI document that describes them. The server
// (host/admin, host/dispatch) and the CLI (cmd/hookhost) both import it, so
// a field exists once; TestOpenAPI_* in host checks the document against
// the routes the server registers and the bodies it answers.
package api
