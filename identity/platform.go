package identity

import (
	"fmt"
	"strings"
)

// Preset is how a hosting platform reports the client, in the words of
// the three variables that state a trust model. Each field is what the
// variable means when it is unset; a variable that is set wins over its
// field, and setting TRUSTED_PROXY_HOPS or CLIENT_IP_HEADER drops the
// preset's Hops and Header together (the way the client is found is one
// choice).
type Preset struct {
	// Name is the PLATFORM value.
	Name string
	// Trusted is TRUSTED_PROXIES, in ParseTrusted's syntax.
	Trusted string
	// Hops is TRUSTED_PROXY_HOPS.
	Hops int
	// Header is CLIENT_IP_HEADER.
	Header string
}

// Platforms lists the PLATFORM values.
const Platforms = "huggingface, railway, render or none"

// PlatformPreset returns the preset of a PLATFORM value. Every preset
// keeps the client-supplied part of X-Forwarded-For out of reach; what
// differs is where the platform's own proxy writes the client down.
//
//   - none: the defaults. TRUSTED_PROXIES is loopback and the private
//     ranges, and X-Forwarded-For is walked from the right past them. Right
//     for a local reverse proxy (docker-compose with nginx) or a server
//     that faces the internet (where no peer is trusted and headers are
//     ignored).
//   - huggingface: the same as none. The Spaces proxy connects from a
//     private 10.x address and appends the visitor's address to
//     X-Forwarded-For, so the rightmost entry that is not private is the
//     visitor.
//   - railway: the private ranges plus 100.64.0.0/10. Railway's edge
//     proxy connects from the shared address space 100.64.0.0/10, which is
//     not in the private ranges: without it, the edge would be an
//     untrusted peer and every visitor would share its address. The edge
//     appends the visitor's address to X-Forwarded-For, which is walked as
//     usual. (X-Real-IP was reported client-settable on Railway in the
//     past, so it is not used.)
//   - render: CLIENT_IP_HEADER=CF-Connecting-IP from the private ranges.
//     Render serves every request through Cloudflare and then its own
//     proxy (a private 10.x peer); X-Forwarded-For arrives as "visitor,
//     cloudflare-edge, 10.x", and the Cloudflare edge is a public address
//     that the private ranges do not cover, so walking the chain would
//     key every visitor on a Cloudflare edge. Cloudflare overwrites
//     CF-Connecting-IP with the address that connected to it, so a
//     visitor cannot choose it.
func PlatformPreset(name string) (Preset, error) {
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case "none", "huggingface":
		return Preset{Name: n, Trusted: "default"}, nil
	case "railway":
		return Preset{Name: n, Trusted: "default,100.64.0.0/10"}, nil
	case "render":
		return Preset{Name: n, Trusted: "default", Header: "CF-Connecting-IP"}, nil
	}
	return Preset{}, fmt.Errorf("identity: unknown platform %q: want %s", name, Platforms)
}

// DetectPlatform names the platform the process runs on from the
// variables each one sets in every container (SPACE_ID on Hugging Face
// Spaces, RAILWAY_ENVIRONMENT_ID or RAILWAY_PROJECT_ID on Railway, RENDER
// on Render), or "none".
func DetectPlatform(getenv func(string) string) string {
	switch {
	case getenv("SPACE_ID") != "":
		return "huggingface"
	case getenv("RAILWAY_ENVIRONMENT_ID") != "" || getenv("RAILWAY_PROJECT_ID") != "":
		return "railway"
	case getenv("RENDER") != "":
		return "render"
	}
	return "none"
}
