package packages

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Export is a package as hookhost writes it back out (Export.JSON): its
// header and its records as they are now, in Cerb's format.
type Export struct {
	Name     string
	Revision int
	// Automations and Webhooks are written in this order, automations
	// first. A webhook's ID and Token are not written: an import makes
	// new ones.
	Automations []Automation
	Webhooks    []Webhook
}

// exportHeader is the "package" object of an export.
type exportHeader struct {
	Name     string `json:"name"`
	Revision int    `json:"revision"`
}

// exportAutomation is an automation record in Cerb's field order.
type exportAutomation struct {
	UID         string `json:"uid"`
	Context     string `json:"_context"`
	Name        string `json:"name"`
	ExtensionID string `json:"extension_id"`
	Description string `json:"description"`
	Script      string `json:"script"`
	PolicyKATA  string `json:"policy_kata"`
}

// exportWebhook is a webhook_listener record.
type exportWebhook struct {
	UID             string `json:"uid"`
	Context         string `json:"_context"`
	Name            string `json:"name"`
	AutomationsKATA string `json:"automations_kata"`
	Enabled         bool   `json:"enabled"`
}

// JSON writes the package in Cerb's format, indented, that Import reads
// back into the same records: it has no prompts or placeholders (the
// values an import rendered are written as they came out), and text that
// would read as package markup ({{{, {{% or {{#) is escaped so that an
// import renders it back as it is (the package name, which an import
// does not render, is written as it is).
func (e Export) JSON() ([]byte, error) {
	doc := struct {
		Package exportHeader `json:"package"`
		Records []any        `json:"records"`
	}{Package: exportHeader{Name: e.Name, Revision: e.Revision}, Records: []any{}}
	for _, a := range e.Automations {
		doc.Records = append(doc.Records, exportAutomation{UID: a.UID, Context: contextAutomation,
			Name: EscapeMarkup(a.Name), ExtensionID: EscapeMarkup(a.ExtensionID), Description: EscapeMarkup(a.Description),
			Script: EscapeMarkup(a.Script), PolicyKATA: EscapeMarkup(a.PolicyKATA)})
	}
	for _, w := range e.Webhooks {
		doc.Records = append(doc.Records, exportWebhook{UID: w.UID, Context: contextWebhook,
			Name: EscapeMarkup(w.Name), AutomationsKATA: EscapeMarkup(w.EventKATA), Enabled: w.Enabled})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// markups are the openings of package markup.
var markups = []string{"{{{", "{{%", "{{#"}

// EscapeMarkup returns s written so that the package renderer gives s
// back: every opening of package markup ({{{, {{% or {{#) becomes a
// placeholder printing it ({{{'{{{'}}}). Text without one is returned as
// it is. The scan goes left to right, so the text around a placeholder
// never forms a new opening.
func EscapeMarkup(s string) string {
	if !hasPackageMarkup(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		for _, m := range markups {
			if strings.HasPrefix(s[i:], m) {
				b.WriteString("{{{'" + m + "'}}}")
				i += len(m)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// Header reads a package's name and revision (from the package JSON or an
// import request wrapping it) without importing it, so that the host can
// look up an earlier import first; ok is false when raw has no readable
// header ([Import] then says what is wrong).
func Header(raw []byte) (name string, revision int, ok bool) {
	if !json.Valid(raw) {
		return "", 0, false
	}
	top, err := decodeObject(raw)
	if err != nil {
		return "", 0, false
	}
	if inner, found := lookup(top, "package"); found && isPackage(inner) {
		if top, err = decodeObject(inner); err != nil {
			return "", 0, false
		}
	}
	header, found := lookup(top, "package")
	if !found {
		return "", 0, false
	}
	ms, err := decodeObject(header)
	if err != nil {
		return "", 0, false
	}
	if v, found := lookup(ms, "name"); found {
		if name, err = decodeString(v); err != nil {
			return "", 0, false
		}
	}
	if v, found := lookup(ms, "revision"); found {
		if revision, err = decodeInt(v); err != nil {
			return "", 0, false
		}
	}
	return name, revision, true
}
