package weft

import (
	"runtime"
	"strings"
)

// fallbackKey is the routing key Here returns when the caller cannot be named.
const fallbackKey = "app"

// Here returns a routing key that names the code calling it, as Contexture derived one from
// the module: the caller's package import path with '/' read as '.', then the receiver type
// when the caller is a method, every character outside [A-Za-z0-9_-] replaced by '_'. A method
// of *Handler in github.com/acme/shop/checkout (or a closure inside one) gives
// "github_com.acme.shop.checkout.Handler":
//
//	obj, err := client.Context(weft.Here(), weft.Fields{"url": url})
//
// Only whole words are kept within the 255-byte limit; "app" when the caller is unknown.
func Here() string {
	pc, _, _, ok := runtime.Caller(1)
	if !ok {
		return fallbackKey
	}
	fn := runtime.FuncForPC(pc)
	if fn == nil {
		return fallbackKey
	}
	return keyFromFuncName(fn.Name())
}

// keyFromFuncName turns a function's full name, e.g. "example.com/shop.(*Handler).Serve.func1",
// into a routing key: "example_com.shop.Handler".
func keyFromFuncName(name string) string {
	dir, rest := "", name
	if slash := strings.LastIndexByte(name, '/'); slash >= 0 {
		dir, rest = name[:slash], name[slash+1:]
	}
	pkg, symbol, _ := strings.Cut(rest, ".")
	words := strings.Split(dir, "/")
	words = append(words, pkg)
	if typ := receiverType(symbol); typ != "" {
		words = append(words, typ)
	}
	var key strings.Builder
	for _, w := range words {
		w = sanitizeWord(w)
		if w == "" {
			continue
		}
		grown := key.Len() + len(w)
		if key.Len() > 0 {
			grown++
		}
		if grown > maxRoutingKeyBytes {
			break
		}
		if key.Len() > 0 {
			key.WriteByte('.')
		}
		key.WriteString(w)
	}
	if key.Len() == 0 {
		return fallbackKey
	}
	return key.String()
}

// receiverType is T in "(*T).M", "(*T[...]).M", "T.M" or "T[...].M" (value receivers);
// "" for a plain function "f" and its closures "f.func1", "f.func1.2".
func receiverType(symbol string) string {
	symbol = strings.ReplaceAll(symbol, "[...]", "") // how the runtime names generic instantiations
	if strings.HasPrefix(symbol, "(") {
		end := strings.IndexByte(symbol, ')')
		if end < 0 {
			return ""
		}
		return strings.TrimPrefix(symbol[1:end], "*")
	}
	first, second, ok := strings.Cut(symbol, ".")
	if !ok || second == "" || strings.HasPrefix(second, "func") || second[0] >= '0' && second[0] <= '9' {
		return ""
	}
	return first
}

// sanitizeWord keeps [A-Za-z0-9_-] and replaces everything else (dots included: a word of an
// import path such as "github.com" becomes "github_com") by '_'.
func sanitizeWord(w string) string {
	b := []byte(w)
	for i, c := range b {
		if !isWordByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}
