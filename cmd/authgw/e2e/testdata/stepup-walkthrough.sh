GW=${GW:-http://127.0.0.1:6546}
field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d '"' -f 4; }
test -s boot.json || echo 'a long passphrase of yours' | ./authgw bootstrap --org Acme --email you@example.com --name You --password-stdin > boot.json
ADMIN_CLIENT=$(field clientId < boot.json); ADMIN_SECRET=$(field clientSecret < boot.json)
for i in $(seq 30); do   # the gateway sees a new client at its next snapshot
  curl -sf -o /dev/null -u "$ADMIN_CLIENT:$ADMIN_SECRET" "$GW/accounts/v1/openapi.json" && break
  sleep 1
done
BASIC="Basic $(printf %s "$ADMIN_CLIENT:$ADMIN_SECRET" | base64 -w0)"
call() { curl -sS -H "Authorization: $BASIC, Macaroon $1" "${@:2}"; }

# 1. log in: besides "macaroons", the session holds "stepUpMacaroons", per method
#    the token of the routes a policy keeps under a step-up ("stepUp": 300)
STATE=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
curl -sS --fail-with-body -u "$ADMIN_CLIENT:$ADMIN_SECRET" \
  --json '{"data":{"email":"you@example.com","password":"a long passphrase of yours","state":"'"$STATE"'"}}' \
  "$GW/accounts/v1/sessions/login/password" > stepup-session.json
POST=$(field POST < stepup-session.json)
UP=$(sed 's/.*"stepUpMacaroons"//' stepup-session.json | field DELETE)

# 2. a second address, to remove below (adding one asks for the password)
call "$POST" --fail-with-body --json '{"data":{"type":"emails","email":"old@example.com","currentPassword":"a long passphrase of yours"}}' \
  "$GW/accounts/v1/users/current/emails" > email.json
EMAIL=$(field id < email.json)

# 3. removing an address is under a step-up: the step-up token alone is refused
#    401 STEP-UP-REQUIRED, with the caveat's ID and where to discharge it
call "$UP" -X DELETE "$GW/accounts/v1/users/current/emails/$EMAIL" | tee stepup-required.json
grep -q '"code":"STEP-UP-REQUIRED"' stepup-required.json

# 4. a discharge, for a fresh proof (the password again); sent the step-up token
#    itself, the service also answers the discharge already bound to it
call "$POST" --fail-with-body \
  --json '{"data":{"token":"'"$UP"'","currentPassword":"a long passphrase of yours"}}' \
  "$GW/accounts/v1/discharge" > discharge.json
BOUND=$(field boundDischarge < discharge.json)

# 5. the step-up token with the bound discharge (good for 5 minutes): done
call "$UP $BOUND" --fail-with-body -X DELETE "$GW/accounts/v1/users/current/emails/$EMAIL" | tee removed.json
