package app

import (
	"strings"
	"testing"
)

// BANS_MAX reaches the bans: past it POST /admin/bans answers 409 with
// the cap.
func TestBansMax(t *testing.T) {
	srv, _, _ := opsApp(t, map[string]string{"ADMIN_TOKEN": opsToken, "BANS_MAX": "1"})
	ban := opsReq{method: "POST", path: "/admin/bans", auth: opsToken, body: `{"ip": "198.51.100.1"}`}
	if status, _, body := opsDo(t, srv, ban); status != 201 {
		t.Fatalf("first ban: got %d %s, want 201", status, body)
	}
	ban.body = `{"ip": "198.51.100.2"}`
	if status, _, body := opsDo(t, srv, ban); status != 409 || !strings.Contains(body, "at most 1 bans") {
		t.Errorf("second ban: got %d %s, want 409 saying at most 1 bans", status, body)
	}
}
