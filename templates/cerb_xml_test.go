package templates

import "testing"

// TestXMLFunctions checks the xml_* functions against Cerb 10.4.10's
// answers (testdata/cerb/cerb_functions.txtar) and PHP's SimpleXML.
func TestXMLFunctions(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"tag attr xpath", `{% set x = xml_decode('<r a="1"><i>x</i><i>y</i></r>') %}{{ xml_tag(x) }} {{ xml_attr(x, 'a') }} {{ xml_xpath(x, '//i')|length }} {{ xml_xpath(x, '//i', 1) }}`, "r 1 2 y"},
		{"attrs", `{{ xml_attrs(xml_decode('<r a="1" b="two"/>'))|json_encode }}`, `{"a":"1","b":"two"}`},
		{"encode", `{{ xml_encode(xml_decode('<r><i>x</i></r>')) }}`, "<?xml version=\"1.0\"?>\n<r><i>x</i></r>\n"},
		{"invalid", `[{{ xml_tag(xml_decode('<r>')) }}]`, "[]"},
		{"ns", `{% set x = xml_decode('<r xmlns:a="urn:a"><a:i>v</a:i></r>') %}{{ xml_xpath(xml_xpath_ns(x, 'a', 'urn:a'), '//a:i', 0) }}`, "v"},
		{"json", `{{ xml_decode('<r a="1"><i>x</i><i>y</i><j/></r>')|json_encode }}`, `{"@attributes":{"a":"1"},"i":["x","y"],"j":""}`},
		{"relative path", `{% set x = xml_decode('<r><a><b>1</b></a><a><b>2</b></a></r>') %}{{ xml_xpath(x, 'a/b')|join(',') }} {{ xml_xpath(x, 'a[2]/b')|join(',') }}`, "1,2 2"},
		{"not xml", `{{ xml_tag('x')|json_encode }}`, "false"},
	}
	env := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := env.Render(tt.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s\n got %q\nwant %q", tt.src, got, tt.want)
			}
		})
	}
}
