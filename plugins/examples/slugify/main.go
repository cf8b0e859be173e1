// Command slugify is an example third-party hookhost extension. It provides
// the command example.slugify (inputs: text → output: slug).
//
// Build it into the plugins directory and restart hookhost:
//
//	go build -o <plugins-dir>/slugify ./plugins/examples/slugify
package main

import (
	"context"
	"encoding/json"
	"strings"
	"unicode"

	"github.com/hookhost/hookhost/plugins"
)

func main() { plugins.Serve(Slugify{}) }

// CommandName is the command this extension provides.
const CommandName = "example.slugify"

// Slugify is the extension.
type Slugify struct{}

var _ plugins.Extension = Slugify{}

// Describe reports the extension.
func (Slugify) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{ID: "slugify", Version: "1.0.0", Commands: []string{CommandName}}, nil
}

// Run fails: the extension provides no trigger.
func (Slugify) Run(_ context.Context, inv plugins.Invocation, _ plugins.Host) (plugins.Outcome, error) {
	return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: "slugify provides no trigger " + inv.Trigger}
}

// RunCommand runs example.slugify.
func (Slugify) RunCommand(ctx context.Context, call plugins.CommandCall, _ plugins.Host) ([]byte, error) {
	if call.Name != CommandName {
		return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "slugify provides no command " + call.Name}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var in struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(call.Inputs, &in); err != nil {
		return nil, &plugins.Error{Code: plugins.CodeInputs, Message: "inputs: " + err.Error()}
	}
	if in.Text == nil {
		return nil, &plugins.Error{Code: plugins.CodeInputs, Message: "inputs: text is required"}
	}
	return json.Marshal(struct {
		Slug string `json:"slug"`
	}{Slug(*in.Text)})
}

// Slug lowercases s and joins its runs of letters and digits with "-".
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}
