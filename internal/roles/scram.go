package roles

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// checkPassword refuses what verifier cannot hash as PostgreSQL would: it
// normalises a password with characters outside ASCII (SASLprep), and
// clients do not all do the same.
func checkPassword(p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] > 0x7e {
			return errors.New("use printable ASCII characters only (letters, digits, punctuation)")
		}
	}
	return nil
}

// verifier is the SCRAM-SHA-256 secret PostgreSQL stores for password, as
// psql's \password makes it: the server stores it as given and never
// sees the password, so no statement log holds it.
func verifier(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("roles: salt: %w", err)
	}
	return scramSecret(password, salt, scramIterations)
}

// scramSecret builds "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"
// (RFC 5802, RFC 7677).
func scramSecret(password string, salt []byte, iterations int) (string, error) {
	storedKey, serverKey, err := scramKeys(password, salt, iterations)
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey), b64(serverKey)), nil
}

func scramKeys(password string, salt []byte, iterations int) (storedKey, serverKey []byte, err error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("roles: scram: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], hmacSHA256(salted, "Server Key"), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
