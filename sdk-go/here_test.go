package weft

import (
	"strings"
	"testing"
)

type handler struct{}

func (*handler) pointerMethod() string { return Here() }
func (handler) valueMethod() string    { return Here() }

func TestHere(t *testing.T) {
	const pkg = "github_com.weft-dev.weft.sdk-go"
	closure := func() string { return Here() }
	cases := map[string]string{
		"function":       Here(),
		"closure":        closure(),
		"pointer method": (&handler{}).pointerMethod(),
		"value method":   handler{}.valueMethod(),
	}
	want := map[string]string{
		"function":       pkg,
		"closure":        pkg,
		"pointer method": pkg + ".handler",
		"value method":   pkg + ".handler",
	}
	for name, got := range cases {
		t.Run(name, func(t *testing.T) {
			if got != want[name] {
				t.Errorf("Here() = %q, want %q", got, want[name])
			}
			if err := validateRoutingKey(got); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestKeyFromFuncName(t *testing.T) {
	long := strings.Repeat("p", 200)
	cases := map[string]string{
		"main.main":                               "main",
		"example.com/shop.(*Handler).Serve":       "example_com.shop.Handler",
		"example.com/shop.(*Handler).Serve.func1": "example_com.shop.Handler",
		"example.com/shop.Handler.Serve":          "example_com.shop.Handler",
		"example.com/shop.process.func1.2":        "example_com.shop",
		"example.com/shop.init.0":                 "example_com.shop",
		"example.com/shop.(*Cache[...]).Get":      "example_com.shop.Cache",
		"example.com/shop.Map[...]":               "example_com.shop",
		"example.com/my pkg/ü.F":                  "example_com.my_pkg.__",
		"a/" + long + "/" + long + ".F":           "a." + long,
		"":                                        "app",
	}
	for name, want := range cases {
		t.Run(name[:min(len(name), 40)], func(t *testing.T) {
			got := keyFromFuncName(name)
			if got != want {
				t.Errorf("keyFromFuncName(%q) = %q, want %q", name, got, want)
			}
			if err := validateRoutingKey(got); err != nil {
				t.Error(err)
			}
		})
	}
}
