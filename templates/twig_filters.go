package templates

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"

	"github.com/flosch/pongo2/v6"
)

// Filters and functions added with the Twig front end: the arrow-function
// filters and the rest of the Cerb filters the corpus uses.

func lambdaArg(name string, args []any, i int) (pongo2.Lambda, error) {
	if i < len(args) {
		if fn, ok := args[i].(pongo2.Lambda); ok {
			return fn, nil
		}
	}
	return nil, fmt.Errorf("%s needs an arrow function argument, as in %s((v, k) => ...)", name, name)
}

// callLambda calls an arrow function, accounting for the call.
func callLambda(st *state, fn pongo2.Lambda, args ...any) (any, error) {
	if err := st.alloc(callBytes); err != nil {
		return nil, err
	}
	out, err := fn(args...)
	if err != nil {
		return nil, err
	}
	return norm(out), nil
}

func fContextAlias(in any, _ ...any) (any, error) { return contextAlias(toStr(in)), nil }

// fQPEncode is PHP's quoted_printable_encode.
func fQPEncode(in any, _ ...any) (any, error) {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	if _, err := io.WriteString(w, toStr(in)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.String(), nil
}
