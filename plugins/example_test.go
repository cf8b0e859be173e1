package plugins_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookhost/hookhost/plugins"
)

// upper is a minimal extension: one command, example.upper.
type upper struct{}

func (upper) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{ID: "upper", Version: "1.0.0", Commands: []string{"example.upper"}}, nil
}

func (upper) Run(_ context.Context, inv plugins.Invocation, _ plugins.Host) (plugins.Outcome, error) {
	return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: "no trigger " + inv.Trigger}
}

func (upper) RunCommand(_ context.Context, call plugins.CommandCall, _ plugins.Host) ([]byte, error) {
	if call.Name != "example.upper" {
		return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "no command " + call.Name}
	}
	return []byte(strings.ToUpper(string(call.Inputs))), nil
}

// An extension binary's main is one line: plugins.Serve(upper{}). Without a
// process, plugins.InProcess calls the same value with the boundary's error
// behaviour.
func Example() {
	ext := plugins.InProcess(upper{})
	out, err := ext.RunCommand(context.Background(), plugins.CommandCall{Name: "example.upper", Inputs: []byte(`{"text":"hi"}`)}, nil)
	fmt.Println(string(out), err)

	_, err = ext.RunCommand(context.Background(), plugins.CommandCall{Name: "example.lower"}, nil)
	fmt.Println(err)
	// Output:
	// {"TEXT":"HI"} <nil>
	// not_found: no command example.lower
}
