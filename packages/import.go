package packages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Record types ("_context") hookhost imports.
const (
	contextAutomation = "automation"
	contextWebhook    = "webhook_listener"
)

// maxNameLen is the longest automation or webhook name, in characters.
const maxNameLen = 255

// maxRandomLength bounds the length of a random placeholder.
const maxRandomLength = 1024

// normalizeContext maps the accepted spellings of a record type to its
// canonical name, or returns "".
func normalizeContext(s string) string {
	switch s {
	case "automation", "cerb.contexts.automation":
		return contextAutomation
	case "webhook_listener", "cerb.contexts.webhook_listener", "webhook":
		return contextWebhook
	}
	return ""
}

// recordFields lists the fields each record type accepts, besides uid and
// _context.
func recordFields(context string) []string {
	if context == contextAutomation {
		return []string{"name", "extension_id", "description", "script", "policy_kata", "_exclude"}
	}
	return []string{"name", "automations_kata", "guid", "enabled", "_exclude"}
}

// cerbOnlyKey reports whether key is a top-level key of Cerb packages that
// hookhost does not import.
func cerbOnlyKey(key string) bool {
	switch key {
	case "bots", "behaviors", "calendars", "classifiers", "custom_fieldsets", "custom_records",
		"events", "portals", "project_boards", "saved_searches", "toolbars", "workspaces":
		return true
	}
	return false
}

// keyPattern is the shape of prompt and placeholder keys: they become
// template variables.
var keyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// namePattern is the shape of automation names (spec §4).
var namePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Import decodes, checks and renders a package and returns what it creates.
// raw is the package JSON, or an import request wrapping it as
// {"package": <package>, "prompts": {...}}. On failure the error is an
// [Errors] listing every problem found.
func Import(raw []byte, opts Options) (*Plan, error) {
	r, err := newRenderer()
	if err != nil {
		return nil, Errors{{Msg: "set up templates", Err: err}}
	}
	if opts.Templates != nil {
		r.env = opts.Templates
	}
	im := &importer{opts: opts, rnd: opts.randReader(), r: r, used: map[string]bool{}}
	plan := im.run(raw)
	if len(im.errs) > 0 {
		return nil, im.errs
	}
	return plan, nil
}

// record is one decoded record of a package.
type record struct {
	uid     string
	context string
	fields  []member // every field but uid and _context, keys rendered
}

// field returns the raw value of the named field.
func (r *record) field(name string) (json.RawMessage, bool) {
	for _, m := range r.fields {
		if m.Key == name {
			return m.Value, true
		}
	}
	return nil, false
}

// importer holds the state of one Import call.
type importer struct {
	opts    Options
	rnd     io.Reader
	r       *renderer
	errs    Errors
	answers map[string]any
	used    map[string]bool // answers consumed by a prompt
	keys    map[string]bool // prompt and placeholder keys
}

func (im *importer) fail(uid, field, msg string) {
	im.errs = append(im.errs, &Error{UID: uid, Field: field, Msg: msg})
}

func (im *importer) failf(format string, args ...any) {
	im.fail("", "", fmt.Sprintf(format, args...))
}

func (im *importer) run(raw []byte) *Plan {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		if err == nil {
			err = errors.New("not valid JSON")
		}
		im.errs = append(im.errs, &Error{Msg: "invalid JSON", Err: jsonSyntaxError(raw, err)})
		return nil
	}
	if dup := duplicateKey(raw); dup != "" {
		im.failf("invalid package JSON: %s", dup)
		return nil
	}
	top, err := decodeObject(raw)
	if err != nil {
		im.failf("invalid package JSON: %s", objectProblem(raw, err))
		return nil
	}
	im.answers = map[string]any{}
	if inner, ok := lookup(top, "package"); ok && isPackage(inner) {
		top = im.unwrap(top)
		if top == nil {
			return nil
		}
	}
	for k, v := range im.opts.Prompts {
		a, ok := normalizeAnswer(v)
		if !ok {
			im.failf("prompt answer %q must be a string or a list of strings", k)
			continue
		}
		if a == nil {
			delete(im.answers, k)
			continue
		}
		im.answers[k] = a
	}

	var header, records json.RawMessage
	for _, m := range top {
		switch {
		case m.Key == "package":
			header = m.Value
		case m.Key == "records":
			records = m.Value
		case cerbOnlyKey(m.Key):
			im.failf("%q is not supported by hookhost (a package may hold only \"package\" and \"records\")", m.Key)
		default:
			im.failf("unknown top-level key %q (a package holds \"package\" and \"records\")", m.Key)
		}
	}
	if header == nil {
		im.failf("invalid package JSON: missing %q key", "package")
		return nil
	}
	im.r.vars["default"] = map[string]any{"base_url": im.opts.BaseURL}
	plan := &Plan{}
	im.header(header, plan)

	var recs []*record
	if records != nil {
		recs = im.records(records)
	}
	if len(im.errs) > 0 {
		return nil
	}
	im.build(recs, plan)
	if len(im.errs) > 0 {
		return nil
	}
	if len(plan.Automations)+len(plan.Webhooks) == 0 {
		im.failf("no records were created by the package")
		return nil
	}
	return plan
}

// objectProblem describes why raw is not a usable JSON object.
func objectProblem(raw json.RawMessage, err error) string {
	if errors.Is(err, errNotObject) {
		return "expected an object, not " + jsonKind(raw)
	}
	return err.Error()
}

// lookup returns the value of key among ms.
func lookup(ms []member, key string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// isPackage reports whether raw is a package document: an object holding
// "package" or "records". It tells an import request wrapper apart from a
// package, whose "package" value is the header.
func isPackage(raw json.RawMessage) bool {
	ms, err := decodeObject(raw)
	if err != nil {
		return false
	}
	_, p := lookup(ms, "package")
	_, r := lookup(ms, "records")
	return p || r
}

// unwrap reads an import request {"package": ..., "prompts": ...}, stores
// its answers and returns the package's members.
func (im *importer) unwrap(top []member) []member {
	var inner []member
	for _, m := range top {
		switch m.Key {
		case "package":
			inner, _ = decodeObject(m.Value)
		case "prompts":
			im.wrapperAnswers(m.Value)
		default:
			im.failf("unknown key %q in the import request (it holds \"package\" and \"prompts\")", m.Key)
		}
	}
	return inner
}

func (im *importer) wrapperAnswers(raw json.RawMessage) {
	if isNull(raw) {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var answers map[string]any
	if err := dec.Decode(&answers); err != nil {
		im.failf("\"prompts\" must be an object of answers, not %s", jsonKind(raw))
		return
	}
	for k, v := range answers {
		a, ok := normalizeAnswer(v)
		if !ok {
			im.failf("prompt answer %q must be a string or a list of strings", k)
			continue
		}
		if a != nil {
			im.answers[k] = a
		}
	}
}

// normalizeAnswer turns a prompt answer into a string or a []string; nil
// means no answer.
func normalizeAnswer(v any) (any, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		return v, true
	case []string:
		return slices.Clone(v), true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := scalarAnswer(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return scalarAnswer(v)
}

func scalarAnswer(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number, bool, int, int64, float64:
		return fmt.Sprint(v), true
	}
	return "", false
}

// header reads the "package" object.
func (im *importer) header(raw json.RawMessage, plan *Plan) {
	ms, err := decodeObject(raw)
	if err != nil {
		im.failf("invalid package JSON: \"package\" must be an object, not %s", jsonKind(raw))
		return
	}
	var configure json.RawMessage
	for _, m := range ms {
		switch m.Key {
		case "name":
			if plan.Name, err = decodeString(m.Value); err != nil {
				im.failf("package.name %v", err)
			}
		case "revision":
			if plan.Revision, err = decodeInt(m.Value); err != nil {
				im.failf("package.revision %v", err)
			}
		case "requires":
			im.requires(m.Value)
		case "library":
			// Catalogue metadata (name, uri, description, image): not used.
		case "configure":
			configure = m.Value
		default:
			im.failf("unknown field %q in \"package\"", m.Key)
		}
	}
	im.keys = map[string]bool{}
	if configure != nil {
		im.configure(configure)
	}
	var unused []string
	for k := range im.answers {
		if !im.used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	for _, k := range unused {
		im.failf("unknown prompt answer %q: the package has no such prompt", k)
	}
}

// requires checks package.requires.
func (im *importer) requires(raw json.RawMessage) {
	ms, err := decodeObject(raw)
	if err != nil {
		im.failf("package.requires must be an object, not %s", jsonKind(raw))
		return
	}
	for _, m := range ms {
		switch m.Key {
		case "cerb_version":
			// Accepted and ignored: hookhost claims no Cerb version.
			if _, err := decodeString(m.Value); err != nil {
				im.failf("package.requires.cerb_version %v", err)
			}
		case "hookhost_version":
			want, err := decodeString(m.Value)
			if err != nil {
				im.failf("package.requires.hookhost_version %v", err)
				continue
			}
			wv, ok := parseVersion(want)
			if !ok {
				im.failf("package.requires.hookhost_version %q is not a version", want)
				continue
			}
			if have, ok := parseVersion(im.opts.Version); ok && compareVersions(have, wv) < 0 {
				im.failf("this package requires hookhost version %s or later", want)
			}
		case "plugins", "extensions":
			names, err := decodeStringList(m.Value)
			if err != nil {
				im.failf("package.requires.%s %v", m.Key, err)
				continue
			}
			for _, n := range names {
				if n != "cerb.webhooks" && !slices.Contains(im.opts.Extensions, n) {
					im.failf("this package requires the %s extension", n)
				}
			}
		default:
			im.failf("unknown field %q in \"package.requires\"", m.Key)
		}
	}
}

// configure reads package.configure: prompts, then placeholders.
func (im *importer) configure(raw json.RawMessage) {
	ms, err := decodeObject(raw)
	if err != nil {
		im.failf("package.configure must be an object, not %s", jsonKind(raw))
		return
	}
	var prompts, placeholders json.RawMessage
	for _, m := range ms {
		switch m.Key {
		case "prompts":
			prompts = m.Value
		case "placeholders":
			placeholders = m.Value
		case "options":
			// Cerb's options.disable_events concerns bots: nothing to do.
			if _, err := decodeObject(m.Value); err != nil && !isNull(m.Value) {
				im.failf("package.configure.options must be an object, not %s", jsonKind(m.Value))
			}
		default:
			im.failf("unknown field %q in \"package.configure\"", m.Key)
		}
	}
	if prompts != nil && !isNull(prompts) {
		list, ok := decodeArray(prompts)
		if !ok {
			im.failf("package.configure.prompts must be an array, not %s", jsonKind(prompts))
		}
		for i, p := range list {
			im.prompt(i, p)
		}
	}
	if placeholders != nil && !isNull(placeholders) {
		list, ok := decodeArray(placeholders)
		if !ok {
			im.failf("package.configure.placeholders must be an array, not %s", jsonKind(placeholders))
		}
		for i, p := range list {
			im.placeholder(i, p)
		}
	}
}

// newKey checks a prompt or placeholder key and claims it.
func (im *importer) newKey(what string, i int, key string) bool {
	switch {
	case key == "":
		im.failf("%s key is missing (package.configure.%ss[%d])", what, what, i)
	case !keyPattern.MatchString(key):
		im.failf("%s key %q must be letters, digits and underscores, not starting with a digit", what, key)
	case key == "default" || key == "uid" || strings.HasPrefix(key, "__"):
		im.failf("%s key %q is reserved", what, key)
	case im.keys[key]:
		im.failf("%s key %q is used twice", what, key)
	default:
		im.keys[key] = true
		return true
	}
	return false
}

// prompt reads one prompt and resolves its answer.
func (im *importer) prompt(i int, raw json.RawMessage) {
	ms, err := decodeObject(raw)
	if err != nil {
		im.failf("package.configure.prompts[%d] must be an object, not %s", i, jsonKind(raw))
		return
	}
	var typ, label, key string
	var params []member
	bad := false
	for _, m := range ms {
		var err error
		switch m.Key {
		case "type":
			typ, err = decodeString(m.Value)
		case "label":
			label, err = decodeString(m.Value)
		case "key":
			key, err = decodeString(m.Value)
		case "params":
			if !isNull(m.Value) {
				if params, err = decodeObject(m.Value); err != nil {
					err = fmt.Errorf("must be an object, not %s", jsonKind(m.Value))
				}
			}
		default:
			err = errors.New("is not a prompt field")
		}
		if err != nil {
			im.failf("package.configure.prompts[%d].%s %v", i, m.Key, err)
			bad = true
		}
	}
	if key != "" {
		// Its answer is not unknown, even when the prompt is broken.
		im.used[key] = true
	}
	if bad || !im.newKey("prompt", i, key) {
		return
	}
	if label == "" {
		label = key
	}
	p := promptSpec{label: label, key: key}
	for _, m := range params {
		switch m.Key {
		case "default":
			p.def = m.Value
		case "options":
			p.options = m.Value
		case "multiple":
			if err := json.Unmarshal(m.Value, &p.multiple); err != nil {
				im.failf("prompt '%s' (%s): params.multiple must be a boolean", label, key)
				return
			}
		}
		// Other params (placeholder, ...) only concern Cerb's form.
	}
	switch typ {
	case "text":
		im.textPrompt(p)
	case "picklist":
		im.picklistPrompt(p)
	case "chooser":
		im.failf("prompt '%s' (%s): chooser prompts are not supported by hookhost", label, key)
	case "":
		im.failf("prompt '%s' (%s): type is missing", label, key)
	default:
		im.failf("prompt '%s' (%s): unknown type %q (hookhost supports text and picklist)", label, key, typ)
	}
}

// promptSpec is a decoded prompt.
type promptSpec struct {
	label, key   string
	def, options json.RawMessage
	multiple     bool
}

func (p promptSpec) required() string {
	return fmt.Sprintf("'%s' (%s) is required.", p.label, p.key)
}

// single returns the answer to a single-value prompt, or its default.
func (im *importer) single(p promptSpec) (string, bool) {
	var s string
	if a, ok := im.answers[p.key]; ok {
		im.used[p.key] = true
		switch a := a.(type) {
		case string:
			s = a
		case []string:
			if len(a) > 1 {
				im.failf("'%s' (%s) takes a single value, not a list", p.label, p.key)
				return "", false
			}
			if len(a) == 1 {
				s = a[0]
			}
		}
	}
	if s == "" && p.def != nil {
		s, _ = scalarText(p.def)
	}
	if s == "" {
		im.fail("", "", p.required())
		return "", false
	}
	return s, true
}

func (im *importer) textPrompt(p promptSpec) {
	if s, ok := im.single(p); ok {
		im.r.vars[p.key] = s
	}
}

func (im *importer) picklistPrompt(p promptSpec) {
	options, ok := picklistOptions(p.options)
	if !ok {
		im.failf("prompt '%s' (%s): params.options must be a non-empty array or object of values", p.label, p.key)
		return
	}
	check := func(v string) bool {
		if slices.Contains(options, v) {
			return true
		}
		quoted := make([]string, len(options))
		for i, o := range options {
			quoted[i] = fmt.Sprintf("%q", o)
		}
		im.failf("'%s' (%s) must be one of %s, not %q", p.label, p.key, strings.Join(quoted, ", "), v)
		return false
	}
	if !p.multiple {
		if s, ok := im.single(p); ok && check(s) {
			im.r.vars[p.key] = s
		}
		return
	}
	var values []string
	if a, ok := im.answers[p.key]; ok {
		im.used[p.key] = true
		switch a := a.(type) {
		case string:
			if a != "" {
				values = []string{a}
			}
		case []string:
			values = a
		}
	}
	if len(values) == 0 && p.def != nil {
		if s, ok := scalarText(p.def); ok && s != "" {
			values = []string{s}
		} else if list, ok := decodeArray(p.def); ok {
			for _, e := range list {
				if s, ok := scalarText(e); ok {
					values = append(values, s)
				}
			}
		}
	}
	if len(values) == 0 {
		im.fail("", "", p.required())
		return
	}
	for _, v := range values {
		if !check(v) {
			return
		}
	}
	im.r.vars[p.key] = values
}

// picklistOptions returns the values of a picklist: the elements of an
// array, or the values of a label-to-value object.
func picklistOptions(raw json.RawMessage) ([]string, bool) {
	var values []json.RawMessage
	if ms, err := decodeObject(raw); err == nil {
		for _, m := range ms {
			values = append(values, m.Value)
		}
	} else if list, ok := decodeArray(raw); ok {
		values = list
	}
	var out []string
	for _, v := range values {
		s, ok := scalarText(v)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, len(out) > 0
}

// placeholder reads one placeholder and computes its value.
func (im *importer) placeholder(i int, raw json.RawMessage) {
	ms, err := decodeObject(raw)
	if err != nil {
		im.failf("package.configure.placeholders[%d] must be an object, not %s", i, jsonKind(raw))
		return
	}
	var typ, key string
	var params []member
	for _, m := range ms {
		var err error
		switch m.Key {
		case "type":
			typ, err = decodeString(m.Value)
		case "key":
			key, err = decodeString(m.Value)
		case "params":
			if !isNull(m.Value) {
				if params, err = decodeObject(m.Value); err != nil {
					err = fmt.Errorf("must be an object, not %s", jsonKind(m.Value))
				}
			}
		default:
			err = errors.New("is not a placeholder field")
		}
		if err != nil {
			im.failf("package.configure.placeholders[%d].%s %v", i, m.Key, err)
			return
		}
	}
	if !im.newKey("placeholder", i, key) {
		return
	}
	switch typ {
	case "random":
		length := 8
		if raw, ok := lookup(params, "length"); ok {
			n, err := decodeInt(raw)
			if err != nil || n < 1 || n > maxRandomLength {
				im.failf("placeholder (%s): params.length must be an integer from 1 to %d", key, maxRandomLength)
				return
			}
			length = n
		}
		code, err := randomCode(im.rnd, length)
		if err != nil {
			im.errs = append(im.errs, &Error{Msg: fmt.Sprintf("placeholder (%s): random", key), Err: err})
			return
		}
		im.r.vars[key] = code
	case "":
		im.failf("placeholder (%s): type is missing", key)
	case "data_query":
		im.failf("placeholder (%s): type %q is not supported by hookhost (only random is)", key, typ)
	default:
		im.failf("placeholder (%s): unknown type %q (hookhost supports random)", key, typ)
	}
}

// records decodes the records array and checks its structure.
func (im *importer) records(raw json.RawMessage) []*record {
	list, ok := decodeArray(raw)
	if !ok {
		im.failf("invalid package JSON: \"records\" must be an array, not %s", jsonKind(raw))
		return nil
	}
	var out []*record
	seen := map[string]int{}
	for i, raw := range list {
		ref := fmt.Sprintf("#%d", i+1)
		ms, err := decodeObject(raw)
		if err != nil {
			im.failf("record (%s) must be an object, not %s", ref, jsonKind(raw))
			continue
		}
		rec := &record{}
		var ctx string
		bad := false
		for _, m := range ms {
			key := m.Key
			if hasPackageMarkup(key) {
				if key, err = im.r.render(key); err != nil {
					im.failf("record (%s) field name %q: %v", ref, m.Key, err)
					bad = true
					continue
				}
			}
			switch key {
			case "uid":
				rec.uid, _ = decodeString(m.Value)
			case "_context":
				ctx, _ = decodeString(m.Value)
			default:
				rec.fields = append(rec.fields, member{Key: key, Value: m.Value})
			}
		}
		if rec.uid != "" {
			ref = rec.uid
		}
		if rec.uid == "" || ctx == "" {
			im.failf("record (%s) is missing properties (uid, _context)", ref)
			continue
		}
		if j, dup := seen[rec.uid]; dup {
			im.failf("record (%s): duplicate uid (records #%d and #%d)", rec.uid, j+1, i+1)
			continue
		}
		seen[rec.uid] = i
		if rec.context = normalizeContext(ctx); rec.context == "" {
			im.failf("unknown context '%s' on record (%s).", ctx, rec.uid)
			continue
		}
		known := recordFields(rec.context)
		fieldSeen := map[string]bool{}
		for _, m := range rec.fields {
			switch {
			case fieldSeen[m.Key]:
				im.fail(rec.uid, m.Key, "given twice")
				bad = true
			case !slices.Contains(known, m.Key):
				im.fail(rec.uid, m.Key, fmt.Sprintf("unknown field (%s records take: uid, _context, %s)",
					rec.context, strings.Join(known, ", ")))
				bad = true
			}
			fieldSeen[m.Key] = true
		}
		if !bad {
			out = append(out, rec)
		}
	}
	return out
}

// text decodes and renders a string field; ok is false after a problem.
func (im *importer) text(rec *record, name string) (string, bool) {
	raw, present := rec.field(name)
	if !present {
		return "", true
	}
	s, err := decodeString(raw)
	if err != nil {
		im.fail(rec.uid, name, err.Error())
		return "", false
	}
	out, err := im.r.render(s)
	if err != nil {
		im.errs = append(im.errs, &Error{UID: rec.uid, Field: name, Err: err})
		return "", false
	}
	return out, true
}

// excluded renders a record's _exclude: a result other than "", "0" or
// "false" (ignoring case and spaces) drops the record.
func (im *importer) excluded(rec *record) (drop, ok bool) {
	raw, present := rec.field("_exclude")
	if !present {
		return false, true
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	s, ok := im.text(rec, "_exclude")
	if !ok {
		return false, false
	}
	s = strings.ToLower(strings.TrimSpace(s))
	return s != "" && s != "0" && s != "false", true
}

// build renders the records into the plan and validates them.
func (im *importer) build(recs []*record, plan *Plan) {
	uids := map[string]any{}
	im.r.vars["uid"] = uids

	var kept []*record
	for _, rec := range recs {
		if drop, ok := im.excluded(rec); ok && !drop {
			kept = append(kept, rec)
		}
	}

	// Ids first: webhooks get a UUIDv7, automations are known by name.
	webhookIDs := map[string]string{}
	for _, rec := range kept {
		if rec.context != contextWebhook {
			continue
		}
		if id, ok := im.opts.WebhookIDs[rec.uid]; ok && id != "" {
			webhookIDs[rec.uid], uids[rec.uid] = id, id
			continue
		}
		id, err := uuid.NewV7FromReader(im.rnd)
		if err != nil {
			im.errs = append(im.errs, &Error{UID: rec.uid, Msg: fmt.Sprintf("record (%s): generate id", rec.uid), Err: err})
			return
		}
		webhookIDs[rec.uid] = id.String()
		uids[rec.uid] = id.String()
	}
	names := map[string]string{} // automation uid → rendered name
	for _, rec := range kept {
		if rec.context != contextAutomation {
			continue
		}
		if name, ok := im.text(rec, "name"); ok {
			names[rec.uid] = name
		}
	}
	for uid, name := range names {
		uids[uid] = name
	}

	byName := map[string]string{} // automation name → uid
	for _, rec := range kept {
		if rec.context != contextAutomation {
			continue
		}
		name, ok := names[rec.uid]
		if !ok {
			continue
		}
		a := Automation{UID: rec.uid, Name: name}
		good := im.checkName(rec.uid, name)
		if other, dup := byName[name]; good && dup {
			im.fail(rec.uid, "name", fmt.Sprintf("automation name %q is also used by record (%s)", name, other))
			good = false
		}
		byName[name] = rec.uid
		var ok1, ok2, ok3, ok4 bool
		a.ExtensionID, ok1 = im.text(rec, "extension_id")
		a.Description, ok2 = im.text(rec, "description")
		a.Script, ok3 = im.text(rec, "script")
		a.PolicyKATA, ok4 = im.text(rec, "policy_kata")
		if ok1 && a.ExtensionID == "" {
			im.fail(rec.uid, "extension_id", "is required")
			ok1 = false
		}
		if good && ok1 && ok2 && ok3 && ok4 {
			plan.Automations = append(plan.Automations, a)
		}
	}

	for _, rec := range kept {
		if rec.context != contextWebhook {
			continue
		}
		w := Webhook{UID: rec.uid, ID: webhookIDs[rec.uid], Enabled: true}
		name, ok1 := im.text(rec, "name")
		if ok1 {
			switch {
			case strings.TrimSpace(name) == "":
				im.fail(rec.uid, "name", "is required")
				ok1 = false
			case utf8.RuneCountInString(name) > maxNameLen:
				im.fail(rec.uid, "name", fmt.Sprintf("must be at most %d characters", maxNameLen))
				ok1 = false
			}
		}
		w.Name = name
		var ok2, ok3 bool
		w.EventKATA, ok2 = im.text(rec, "automations_kata")
		w.Enabled, ok3 = im.enabled(rec)
		if raw, ok := rec.field("guid"); ok {
			if s, err := decodeString(raw); err != nil {
				im.fail(rec.uid, "guid", err.Error())
				ok3 = false
			} else if s != "" {
				plan.Warnings = append(plan.Warnings, fmt.Sprintf(
					"record (%s): the supplied guid is not used as the webhook's token (a token published in a package is not a secret); a new token was generated", rec.uid))
			}
		}
		if ok1 && ok2 && ok3 {
			plan.Webhooks = append(plan.Webhooks, w)
		}
	}
	if len(im.errs) > 0 {
		return
	}

	if v := im.opts.Validator; v != nil {
		created := make([]string, 0, len(plan.Automations))
		for _, a := range plan.Automations {
			created = append(created, a.Name)
		}
		for _, a := range plan.Automations {
			im.validatorProblems(a.UID, "script", v.ValidateAutomation(a.Name, a.ExtensionID, a.Script, a.PolicyKATA))
		}
		for _, w := range plan.Webhooks {
			im.validatorProblems(w.UID, "automations_kata", v.ValidateEvent(w.EventKATA, slices.Clone(created)))
		}
		if len(im.errs) > 0 {
			return
		}
	}

	for i := range plan.Webhooks {
		token, err := newToken(im.rnd)
		if err != nil {
			im.errs = append(im.errs, &Error{Msg: "generate a webhook token", Err: err})
			return
		}
		plan.Webhooks[i].Token = token
	}
}

// checkName applies the automation name rules of spec §4.
func (im *importer) checkName(uid, name string) bool {
	switch {
	case name == "":
		im.fail(uid, "name", "is required")
	case len(name) > maxNameLen:
		im.fail(uid, "name", fmt.Sprintf("must be at most %d characters", maxNameLen))
	case !namePattern.MatchString(name):
		im.fail(uid, "name", fmt.Sprintf("automation name %q may contain only letters, numbers, dots, dashes and underscores", name))
	default:
		return true
	}
	return false
}

// enabled reads a webhook's enabled flag: a boolean, or a string rendering
// to one (true/false, yes/no, on/off, 1/0, and "" for false, which is how
// a false comparison prints). It defaults to true.
func (im *importer) enabled(rec *record) (bool, bool) {
	raw, present := rec.field("enabled")
	if !present {
		return true, true
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	s, ok := im.text(rec, "enabled")
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0", "":
		return false, true
	}
	im.fail(rec.uid, "enabled", fmt.Sprintf("must be a boolean, not %q", s))
	return false, false
}

// validatorProblems records the problems of a Validator error.
func (im *importer) validatorProblems(uid, field string, err error) {
	if err == nil {
		return
	}
	list := []error{err}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		list = u.Unwrap()
	}
	for _, e := range list {
		if e == nil {
			continue
		}
		f := field
		var fe *FieldError
		if errors.As(e, &fe) && fe.Field != "" {
			f = fe.Field
		}
		im.errs = append(im.errs, &Error{UID: uid, Field: f, Err: e})
	}
}
