package plugins

import (
	"strings"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// A run stream carries an automation's script and policy with the first run
// of each (automation, revision) only: the extension keeps them for the
// stream (streamScripts), and the later runs of that revision leave them
// out (RunRequest.script_omitted), which spares the copies, the UTF-8 checks
// and the bytes on the socket of a few hundred bytes a run. A revision
// changes whenever the script or policy does (Invocation.Revision). When
// the extension does not have them (it forgot them to stay in its bounds,
// or the first run was cancelled before it was sent), it answers the run
// with codeScriptUnknown, and the host sends the run again with them
// (runStream.run). A new stream, after the extension process restarted for
// one, starts with nothing known on either side.

// codeScriptUnknown is the error code of a run that left its script out
// when the extension did not have it. It never reaches a caller of Run:
// the host sends the run again with its script.
const codeScriptUnknown = "script_unknown"

// Bounds of what each side keeps per stream; past them it starts over
// (the host sends the scripts again, the extension asks for them).
const (
	maxKnownScripts     = 4096
	maxKeptScriptsBytes = 16 << 20
)

// scriptKey names a script and policy: revision changes with either.
type scriptKey struct{ automation, revision string }

// keptScript is a script and policy an extension keeps for its stream.
type keptScript struct{ script, policy string }

// streamScripts is the extension side: the scripts and policies of the
// stream's runs. Only the stream's reading loop uses it (no lock).
type streamScripts struct {
	m     map[scriptKey]keptScript
	bytes int
}

// fill completes a run that left its script out, and keeps the script of
// one that has it. It reports false for a run that left out a script it
// does not have.
func (k *streamScripts) fill(r *pb.RunRequest) bool {
	key := scriptKey{r.GetAutomation(), r.GetRevision()}
	if r.GetScriptOmitted() {
		s, ok := k.m[key]
		if !ok || key.revision == "" {
			return false
		}
		r.Script, r.Policy, r.ScriptOmitted = s.script, s.policy, false
		return true
	}
	if key.revision == "" {
		return true
	}
	if _, ok := k.m[key]; ok {
		return true
	}
	n := len(key.automation) + len(key.revision) + len(r.GetScript()) + len(r.GetPolicy())
	if k.m == nil || len(k.m) >= maxKnownScripts || k.bytes+n > maxKeptScriptsBytes {
		k.m, k.bytes = map[scriptKey]keptScript{}, 0
	}
	// Copies: the run's strings share its frame's buffer, which this would
	// keep alive.
	key = scriptKey{strings.Clone(key.automation), strings.Clone(key.revision)}
	k.m[key] = keptScript{strings.Clone(r.GetScript()), strings.Clone(r.GetPolicy())}
	k.bytes += n
	return true
}

// scriptUnknown is the result of a run that left out a script the
// extension does not have.
func scriptUnknown(id uint64) *pb.RunStreamResult {
	return &pb.RunStreamResult{CallId: id, Response: &pb.RunResponse{Error: &pb.Error{Code: codeScriptUnknown,
		Message: "the run left out its script, which the extension does not have: send it again with it"}}}
}

// sentScripts is the host side: the revisions whose script went on the
// stream. Guarded by the runStream's mu.
type sentScripts map[scriptKey]struct{}

// omitLocked reports whether r may leave its script out (its revision's
// went on the stream), and records that the next runs of its revision may
// when it may not. rs.mu is held.
func (rs *runStream) omitLocked(r *pb.RunRequest) bool {
	if !rs.scripts || r.GetRevision() == "" || r.GetScript() == "" && r.GetPolicy() == "" {
		return false
	}
	key := scriptKey{r.GetAutomation(), r.GetRevision()}
	if _, ok := rs.sent[key]; ok {
		return true
	}
	if rs.sent == nil || len(rs.sent) >= maxKnownScripts {
		rs.sent = sentScripts{}
	}
	rs.sent[key] = struct{}{}
	return false
}

// unsentLocked forgets that r's revision went on the stream when r carried
// its script and was taken back before it was sent, so that the next run of
// that revision carries it (one that left it out meanwhile gets
// script_unknown and is sent again with it). rs.mu is held.
func (rs *runStream) unsentLocked(r *pb.RunRequest) {
	if rs.scripts && !r.GetScriptOmitted() && (r.GetScript() != "" || r.GetPolicy() != "") {
		delete(rs.sent, scriptKey{r.GetAutomation(), r.GetRevision()})
	}
}
