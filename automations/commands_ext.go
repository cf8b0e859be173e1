package automations

import (
	"strings"
	"time"

	"github.com/hookhost/hookhost/templates/dict"
)

// automationName reads a function uri: "cerb:automation:<name>" or a bare
// name.
func automationName(uri string) string {
	uri = strings.TrimSpace(uri)
	return strings.TrimPrefix(uri, "cerb:automation:")
}

// function is function: run another automation with inputs:; the output
// is its return dictionary. A function that ends in error is a failure.
func (r *runner) function(n *node, in *dict.Map) (any, error) {
	name := automationName(toString(r.eval(n.uri)))
	if name == "" {
		return nil, cmdErrorf("uri: is required.")
	}
	if r.rt.Functions == nil {
		return nil, cmdErrorf("function: is not available: no function runner is configured")
	}
	res, err := r.rt.Functions.RunFunction(r.ctx, name, in)
	if err != nil {
		if r.checkTime(n.id) {
			return nil, errStopped
		}
		return nil, cmdErrorf("%s", err.Error())
	}
	if res == nil {
		return dict.New(0), nil
	}
	if res.Exit == ExitError {
		msg := res.Error
		if msg == "" {
			msg = "An unexpected error occurred."
		}
		return nil, &cmdError{msg: msg, extra: res.Return}
	}
	if res.Return == nil {
		return dict.New(0), nil
	}
	return res.Return, nil
}

func storageKey(in *dict.Map) (string, *cmdError) {
	key := strings.TrimSpace(toString(in.Value("key")))
	if key == "" {
		return "", cmdErrorf("inputs:key: is required.")
	}
	return key, nil
}

// storageGet is storage.get: the stored value, else inputs:default:, else
// an error.
func (r *runner) storageGet(_ *node, in *dict.Map) (any, error) {
	key, cerr := storageKey(in)
	if cerr != nil {
		return nil, cerr
	}
	if r.rt.Storage == nil {
		return nil, cmdErrorf("storage.get is not available: no storage is configured")
	}
	v, found, err := r.rt.Storage.Get(r.ctx, key)
	if err != nil {
		return nil, cmdErrorf("%s", err.Error())
	}
	if !found {
		if def, ok := in.Get("default"); ok {
			return def, nil
		}
		return nil, cmdErrorf("Failed to load the key (%s)", key)
	}
	return dict.FromGo(v), nil
}

// storageSet is storage.set: store inputs:value: under inputs:key:, with an
// optional inputs:expires: (a Unix time or a date); the output is true.
func (r *runner) storageSet(_ *node, in *dict.Map) (any, error) {
	key, cerr := storageKey(in)
	if cerr != nil {
		return nil, cerr
	}
	if r.rt.Storage == nil {
		return nil, cmdErrorf("storage.set is not available: no storage is configured")
	}
	var expires time.Time
	if e, ok := in.Get("expires"); ok && e != nil && e != "" {
		var ts int64
		switch t := e.(type) {
		case int64:
			ts = t
		case float64:
			ts = int64(t)
		default:
			var ok bool
			if ts, ok = timestampOrDate(toString(t), r.now()); !ok {
				return nil, cmdErrorf("inputs:expires: must be a date.")
			}
		}
		expires = time.Unix(ts, 0)
	}
	if err := r.rt.Storage.Set(r.ctx, key, in.Value("value"), expires); err != nil {
		return nil, cmdErrorf("%s", err.Error())
	}
	return true, nil
}

// storageDelete is storage.delete; the output reports whether the key
// existed.
func (r *runner) storageDelete(_ *node, in *dict.Map) (any, error) {
	key, cerr := storageKey(in)
	if cerr != nil {
		return nil, cerr
	}
	if r.rt.Storage == nil {
		return nil, cmdErrorf("storage.delete is not available: no storage is configured")
	}
	found, err := r.rt.Storage.Delete(r.ctx, key)
	if err != nil {
		return nil, cmdErrorf("%s", err.Error())
	}
	return found, nil
}

// extension runs a command provided by an extension (Options.Commands).
func (r *runner) extension(n *node, in *dict.Map) (any, error) {
	if r.rt.Commands == nil {
		return nil, cmdErrorf("%s is not available: no extension provides it", n.name)
	}
	out, err := r.rt.Commands.RunCommand(r.ctx, n.name, in)
	if err != nil {
		if r.checkTime(n.id) {
			return nil, errStopped
		}
		return nil, cmdErrorf("%s", err.Error())
	}
	return dict.FromGo(out), nil
}
