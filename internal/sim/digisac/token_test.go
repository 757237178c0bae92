package digisacsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"syncer/internal/sim/clock"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serve(t, Config{Seed: 10, Tickets: 5, Token: "personal", Now: clk.Now, TokenTTL: 10 * time.Minute})
	list := srv.URL + "/api/v1/services"
	const invalid = "Invalid token: access token is invalid"
	wantError(t, get(t, list, ""), http.StatusUnauthorized, "HttpError", invalid)
	wantError(t, get(t, list, "wrong"), http.StatusUnauthorized, "HttpError", invalid)
	decodeEnvelope(t, get(t, list, "personal"))

	tokenURL := srv.URL + "/api/v1/oauth/token"
	grant := func(user, pass string) string {
		b, _ := json.Marshal(map[string]string{"grant_type": "password", "client_id": "api", "client_secret": "secret", "username": user, "password": pass})
		return string(b)
	}
	wantError(t, post(t, tokenURL, "", grant("ana@acme.com.br", "errada")), http.StatusUnauthorized, "HttpError", "Invalid credentials")
	wantError(t, post(t, tokenURL, "", `{"grant_type":"password","client_id":"api","client_secret":"nope","username":"ana@acme.com.br","password":"senha-secreta"}`),
		http.StatusUnauthorized, "HttpError", "Invalid credentials")
	wantError(t, post(t, tokenURL, "", `{`), http.StatusBadRequest, "BadRequestHttpError", "")
	if r := get(t, tokenURL, ""); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
		t.Errorf("GET token: %d %v", r.status, r.header)
	}

	issue := func(body string) tokenResponse {
		t.Helper()
		r := post(t, tokenURL, "", body)
		var tr tokenResponse
		if r.status != http.StatusOK || json.Unmarshal(r.body, &tr) != nil {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(tr.AccessToken) || tr.TokenType != "Bearer" || tr.ExpiresIn != 600 || tr.RefreshToken == "" {
			t.Errorf("token response %+v", tr)
		}
		return tr
	}
	tr := issue(grant("ana@acme.com.br", "senha-secreta"))
	decodeEnvelope(t, get(t, list, tr.AccessToken))
	clk.Advance(9 * time.Minute)
	decodeEnvelope(t, get(t, list, tr.AccessToken))
	clk.Advance(time.Minute)
	wantError(t, get(t, list, tr.AccessToken), http.StatusUnauthorized, "HttpError", invalid)

	tr = issue(grant("ana@acme.com.br", "senha-secreta"))
	decodeEnvelope(t, get(t, list, tr.AccessToken))
	d.ExpireTokens()
	wantError(t, get(t, list, tr.AccessToken), http.StatusUnauthorized, "HttpError", invalid)
	decodeEnvelope(t, get(t, list, "personal"))

	// The refresh token renews once.
	refreshed := issue(fmt.Sprintf(`{"grant_type":"refresh_token","client_id":"api","client_secret":"secret","refresh_token":%q}`, tr.RefreshToken))
	decodeEnvelope(t, get(t, list, refreshed.AccessToken))
	wantError(t, post(t, tokenURL, "", fmt.Sprintf(`{"grant_type":"refresh_token","client_id":"api","client_secret":"secret","refresh_token":%q}`, tr.RefreshToken)),
		http.StatusUnauthorized, "HttpError", "Invalid credentials")
}
