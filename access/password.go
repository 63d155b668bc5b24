package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/weftio/weft"
)

// Argon2id parameters for local users' passwords: 2 passes over 64 MiB with
// 2 lanes (OWASP's second recommended configuration is m=19MiB,t=2; we
// spend more memory since sign-ins are rare), a 16-byte random salt and a
// 32-byte key. They are written into every hash (PHC string format), so
// raising them later keeps old hashes verifiable.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Password limits.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024 // hashing cost is fixed, but a body of megabytes is not a password
)

// CheckPassword refuses passwords too short or too long to be one.
func CheckPassword(pw string) error {
	switch {
	case len(pw) < MinPasswordLen:
		return weft.Errorf(weft.EInvalid, "password too short: at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return weft.Errorf(weft.EInvalid, "password too long: at most %d characters", MaxPasswordLen)
	}
	return nil
}

// hashSlots bounds concurrent argon2id computations (each takes
// argonMemory): a burst of sign-ins from many addresses queues here instead
// of taking 64 MiB per request.
var hashSlots = make(chan struct{}, 4)

func idKey(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(pw, salt, t, m, p, n)
}

// HashPassword returns pw's argon2id hash in PHC string format:
// $argon2id$v=19$m=65536,t=2,p=2$<salt>$<key> (unpadded base64).
func HashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", weft.Wrap(weft.EInternal, err, "random salt")
	}
	key := idKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches a hash from HashPassword,
// comparing in constant time. A malformed hash never matches.
func VerifyPassword(hash, pw string) bool {
	if len(pw) > MaxPasswordLen {
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<22 || t == 0 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := idKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Token prefixes: a leaked token is recognisable (secret scanners) and says
// what it is.
const (
	PATPrefix            = "weft_pat_"
	ServiceAccountPrefix = "weft_sa_"
	// MaxTokenLen bounds a bearer token before it is hashed or looked up.
	MaxTokenLen = 256
)

// NewToken returns a fresh token (prefix + 32 random bytes, base64url) and
// its hash, which is all that is stored.
func NewToken(prefix string) (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", weft.Wrap(weft.EInternal, err, "random token")
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token: hex SHA-256. Tokens are 256
// random bits, so a fast hash is enough (nothing to brute-force).
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// IsWeftToken reports whether a bearer looks like a personal access token
// or a service account's token.
func IsWeftToken(tok string) bool {
	return strings.HasPrefix(tok, PATPrefix) || strings.HasPrefix(tok, ServiceAccountPrefix)
}
