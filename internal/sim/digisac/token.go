package digisacsim

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"syncer/internal/sim/wire"
)

// ExpireTokens makes every access token issued by /oauth/token so far stop
// working (401), as if they had all reached their expiry. The personal
// token (Config.Token) and refresh tokens keep working.
func (d *Simulator) ExpireTokens() {
	d.tokMu.Lock()
	defer d.tokMu.Unlock()
	clear(d.access)
}

// tokenResponse is the answer of /oauth/token. Its shape is
// unconfirmed (FACTS: "likely access_token, token_type, expires_in,
// refresh_token"); this is the usual OAuth 2 one.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// serveToken answers the password grant (and the refresh_token grant):
// client api/secret and the configured credentials, else 401. Checked before
// the fault knobs, like a token.
func (d *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	fi := d.faults
	var req struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Username     string `json:"username"`
		Password     string `json:"password"`
		RefreshToken string `json:"refresh_token"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil {
		fi.WriteError(w, http.StatusBadRequest, badRequestBody("Invalid JSON body"))
		return
	}
	d.tokMu.Lock()
	ok := req.ClientID == "api" && req.ClientSecret == "secret"
	switch req.GrantType {
	case "password":
		ok = ok && subtle.ConstantTimeCompare([]byte(req.Username), []byte(d.cfg.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(req.Password), []byte(d.cfg.Password)) == 1
	case "refresh_token":
		ok = ok && d.refresh[req.RefreshToken]
	default:
		d.tokMu.Unlock()
		fi.WriteError(w, http.StatusBadRequest, badRequestBody("Unsupported grant_type"))
		return
	}
	d.tokMu.Unlock()
	if !ok {
		fi.WriteError(w, http.StatusUnauthorized, bodyBadCredentials)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	d.tokMu.Lock()
	if req.GrantType == "refresh_token" {
		delete(d.refresh, req.RefreshToken)
	}
	res := tokenResponse{AccessToken: d.randomHex(20), TokenType: "Bearer", ExpiresIn: int64(d.cfg.TokenTTL / time.Second), RefreshToken: d.randomHex(20)}
	d.access[res.AccessToken] = d.cfg.Now().Add(d.cfg.TokenTTL).UnixMilli()
	d.refresh[res.RefreshToken] = true
	d.tokMu.Unlock()
	fi.WriteOK(w, r, wire.Encode(res), out)
}

// randomHex draws n random bytes as hex. Caller holds tokMu.
func (d *Simulator) randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(d.tokRng.UintN(256))
	}
	return hex.EncodeToString(b)
}
