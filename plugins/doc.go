// Package plugins is the hookhost extension contract and SDK.
//
// Automations run in extension processes, not in the server. An extension is
// a Go value that implements [Extension]; its binary's main function hands it
// to [Serve]:
//
//	func main() { plugins.Serve(slugify{}) }
//
// Extension authors never import go-plugin: Serve speaks the handshake
// ([ProtocolVersion], [MagicCookieKey], [MagicCookieValue]) and the gRPC
// protocol of package plugins/proto. The host starts the binary (package
// host/extensions), calls [Extension.Describe] once, and then
// [Extension.Run] for every automation run of the triggers the extension
// provides and [Extension.RunCommand] for its commands. Runs share one
// long-lived gRPC stream per process (RunStream in plugins/proto), batched
// under load; see README.md.
//
// # Host callbacks
//
// Run and RunCommand receive a [Host]: log lines, storage, function calls
// (running another automation), secrets and the commands of other
// extensions. Over the process boundary the Host travels through go-plugin's
// GRPCBroker: the host serves it once per process and the extension keeps
// one connection to it, so a callback costs one gRPC round trip.
//
// # Errors
//
// Errors that cross the boundary keep a machine-readable [Code] ([Error]).
// An automation that fails ends with Outcome.Exit == [ExitError] and
// Outcome.Error set; Run returns an error only when the extension could not
// run the automation at all.
//
// # In process
//
// [InProcess] wraps an Extension so that it can be called without a process
// (tests, and measuring the cost of the process hop). In process, a host may
// pass the inputs as Go values (Invocation.Values) to an extension that
// reads them and get the return dictionary back the same way
// (Outcome.Value), skipping JSON. Package
// plugins/plugintest holds an in-process gRPC harness and the conformance
// suite every extension passes.
//
// # Reusing Return buffers
//
// An extension whose every Outcome.Return is a buffer made for that run
// alone may implement [ReturnReuser]: the SDK hands each Return back once
// its result was written on the run socket, for a later run. ReuseReturn
// must be quick, must not block, and may run concurrently with itself and
// with Run; see [ReturnReuser] for what the extension promises.
//
// # Logging
//
// Inside an extension process, [Serve] points slog's default logger at the
// host: records written with slog show up in the host's log with the
// extension's name.
package plugins
