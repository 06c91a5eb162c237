#!/bin/sh
# server_auth.sh: /register, /token, /refresh, /logout, /users/me with good and bad input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

SECRET=test-secret-0123456789abcdef0123456789
SECRET_KEY=$SECRET start_server
J='Content-Type: application/json'

# --- register
CASE="register" register alice 'correct horse'
[ "$(field username)" = alice ] || fail "register: no username in reply"
[ "$(field id)" = 1 ] || fail "register: id is not 1"
CASE="register twice" req POST /register -H "$J" -d '{"username":"alice","password":"another pw"}'
CASE="register twice" expect 409 username
CASE="short password" req POST /register -H "$J" -d '{"username":"bob","password":"short"}'
CASE="short password" expect 400 password
CASE="missing username" req POST /register -H "$J" -d '{"password":"long enough"}'
CASE="missing username" expect 400 'username: field required'
CASE="password number" req POST /register -H "$J" -d '{"username":"bob","password":12345678}'
CASE="password number" expect 400 'password: must be a string'
CASE="bad name" req POST /register -H "$J" -d '{"username":"bo b","password":"long enough"}'
CASE="bad name" expect 400 username
CASE="bad JSON" req POST /register -H "$J" -d '{"username":"bob",'
CASE="bad JSON" expect 400 body
CASE="trailing garbage" req POST /register -H "$J" -d '{"username":"bob","password":"long enough"} x'
CASE="trailing garbage" expect 400 body
CASE="not an object" req POST /register -H "$J" -d '["bob"]'
CASE="not an object" expect 400 object
CASE="empty body" req POST /register -H "$J"
CASE="empty body" expect 400 body
CASE="case-sensitive keys" req POST /register -H "$J" -d '{"Username":"bob","password":"long enough"}'
CASE="case-sensitive keys" expect 400 'username: field required'
head -c 1100000 /dev/zero | tr '\0' 'a' >"$T/big"
CASE="oversized body" req POST /register -H "$J" --data-binary @"$T/big"
CASE="oversized body" expect 413
CASE="GET on a POST route" req GET /register
CASE="GET on a POST route" expect 405
pass register

# --- token: form and JSON
CASE="token form" login alice 'correct+horse'
[ "$(field token_type)" = bearer ] || fail "token: token_type is not bearer"
CASE="token JSON" req POST /token -H "$J" -d '{"username":"alice","password":"correct horse"}'
CASE="token JSON" expect 200 access_token
CASE="wrong password" req POST /token -d 'username=alice&password=wrong+password'
CASE="wrong password" expect 401 'Incorrect username or password'
CASE="unknown user" req POST /token -d 'username=nobody&password=wrong+password'
CASE="unknown user" expect 401 'Incorrect username or password'
CASE="form missing password" req POST /token -d 'username=alice'
CASE="form missing password" expect 400 'password: field required'
CASE="form bad escape" req POST /token -d 'username=alice&password=%zz'
CASE="form bad escape" expect 400 password
pass token

# --- users/me and access tokens
CASE="me" req GET /users/me -H "Authorization: Bearer $ACCESS"
CASE="me" expect 200 '"username":"alice"'
CASE="me without token" req GET /users/me
CASE="me without token" expect 401
grep -qi '^www-authenticate: Bearer' "$T/headers" || fail "401 without WWW-Authenticate"
CASE="me garbage token" req GET /users/me -H "Authorization: Bearer abc.def.ghi"
CASE="me garbage token" expect 401
# Forged tokens: wrong signature, alg none, expired, alg HS512 (signed with the real key).
"$PY" - "$SECRET" "$ACCESS" >"$T/forged" <<'PY'
import base64, hmac, hashlib, json, sys, time
key, good = sys.argv[1].encode(), sys.argv[2]
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b'=').decode()
def tok(hdr, pl, k=key):
    s = b(json.dumps(hdr).encode()) + '.' + b(json.dumps(pl).encode())
    return s + '.' + b(hmac.new(k, s.encode(), hashlib.sha256).digest())
now = int(time.time())
h, p, s = good.split('.')
print(h + '.' + p + '.' + b(b'x' * 32))                                     # bad signature
print(tok({'alg': 'none', 'typ': 'JWT'}, {'sub': '1', 'exp': now + 600})[:-44].rstrip('.') + '.')
print(tok({'alg': 'HS256'}, {'sub': '1', 'exp': now - 10}))                  # expired
print(tok({'alg': 'HS512'}, {'sub': '1', 'exp': now + 600}))                 # wrong alg
print(tok({'alg': 'HS256'}, {'sub': '1', 'exp': now + 600}, b'other-key-0123456789abcdef012345'))
print(tok({'alg': 'HS256'}, {'sub': '999', 'exp': now + 600}))               # no such user
print(tok({'alg': 'HS256'}, {'sub': '1', 'exp': now + 600}))                 # valid forgery = key works
PY
n=0
while read -r tok; do
    n=$((n + 1))
    req GET /users/me -H "Authorization: Bearer $tok"
    if [ $n -eq 7 ]; then
        CASE="token signed with SECRET_KEY" expect 200 alice
    else
        CASE="forged token $n" expect 401
    fi
done <"$T/forged"
[ $n -eq 7 ] || fail "forged token list incomplete"
pass "access tokens"

# --- refresh rotation and reuse detection
CASE="refresh" req POST /refresh -H "$J" -d "{\"refresh_token\":\"$REFRESH\"}"
CASE="refresh" expect 200 access_token
R2=$(field refresh_token)
[ "$R2" != "$REFRESH" ] || fail "refresh did not rotate"
CASE="refresh new" req POST /refresh -H "$J" -d "{\"refresh_token\":\"$R2\"}"
CASE="refresh new" expect 200
R3=$(field refresh_token)
CASE="refresh reuse" req POST /refresh -H "$J" -d "{\"refresh_token\":\"$REFRESH\"}"
CASE="refresh reuse" expect 401
CASE="family revoked" req POST /refresh -H "$J" -d "{\"refresh_token\":\"$R3\"}"
CASE="family revoked" expect 401
CASE="refresh missing" req POST /refresh -H "$J" -d '{}'
CASE="refresh missing" expect 400 'refresh_token: field required'
CASE="refresh wrong type" req POST /refresh -H "$J" -d '{"refresh_token":5}'
CASE="refresh wrong type" expect 400 'refresh_token: must be a string'
CASE="refresh unknown" req POST /refresh -H "$J" -d '{"refresh_token":"x"}'
CASE="refresh unknown" expect 401
pass refresh

# --- logout
login alice 'correct+horse'
CASE="logout" req POST /logout -H "$J" -d "{\"refresh_token\":\"$REFRESH\"}"
CASE="logout" expect 200
CASE="refresh after logout" req POST /refresh -H "$J" -d "{\"refresh_token\":\"$REFRESH\"}"
CASE="refresh after logout" expect 401
CASE="logout twice" req POST /logout -H "$J" -d "{\"refresh_token\":\"$REFRESH\"}"
CASE="logout twice" expect 401
pass logout

# --- login rate limit: per user, with Retry-After; other users are not affected.
register carol 'carol password'
for i in 1 2 3 4 5; do
    req POST /token -d 'username=carol&password=bad+guess'
    CASE="bad guess $i" expect 401
done
CASE="rate limited" req POST /token -d 'username=carol&password=carol+password'
CASE="rate limited" expect 429
grep -qi '^retry-after: [0-9]' "$T/headers" || fail "429 without Retry-After"
CASE="other user unaffected" login alice 'correct+horse'
pass "rate limit"

# Stored secrets are hashes only.
[ "$(sql "select count(*) from users where pwhash like '\$argon2id\$%'")" = 2 ] ||
    fail "passwords are not stored as Argon2id hashes"
[ "$(sql "select count(*) from refresh_tokens where length(hash) = 32")" = \
  "$(sql "select count(*) from refresh_tokens")" ] || fail "refresh tokens not stored as hashes"
stop_server
pass "clean shutdown"
