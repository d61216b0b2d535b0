package weft

import "testing"

func TestRender(t *testing.T) {
	fields := map[string]value{
		"url":    {kind: kindString, str: "http://x"},
		"status": {kind: kindNumber, num: 200},
		"ok":     {kind: kindBool, num: 1},
	}
	cases := []struct{ template, want string }{
		{"no braces", "no braces"},
		{"fetched {url} with {status}", "fetched http://x with 200"},
		{"{ok}", "true"},
		{"{missing} stays", "{missing} stays"},
		{"{{literal}} and {{{status}}}", "{literal} and {200}"},
		{"spec {status:.2f} stays", "spec {status:.2f} stays"},
		{"attr {url.host} stays", "attr {url.host} stays"},
		{"stray { before {status}", "stray { before 200"},
		{"unclosed {status", "unclosed {status"},
		{"lone } brace", "lone } brace"},
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.template, func(t *testing.T) {
			if got := render(tc.template, fields); got != tc.want {
				t.Errorf("render(%q) = %q, want %q", tc.template, got, tc.want)
			}
		})
	}
}
