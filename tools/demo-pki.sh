#!/usr/bin/env bash
# Sourced by tools/demo-broker.sh and tools/demo-rabbit-cluster.sh: the one place that makes a throwaway demo CA,
# a server certificate and client certificates for demo-school and centre-1 (docs/libmosquitto-binding.md).
#   make_demo_pki DIR CA_NAME SERVER_CN SERVER_SAN DAYS
# SERVER_SAN is an OpenSSL subjectAltName value, e.g. "DNS:localhost,IP:127.0.0.1". Keys are left 0600.
make_demo_pki() {
  local dir="$1" ca_name="$2" server_cn="$3" server_san="$4" days="$5" name
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -subj "/CN=$ca_name" -keyout ca.key -out ca.crt 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$server_san" > server.ext
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$server_cn" -keyout server.key -out server.csr 2>/dev/null
    openssl x509 -req -sha256 -days "$days" -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -extfile server.ext -out server.crt 2>/dev/null
    for name in demo-school centre-1; do
      openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$name.key" -out "$name.csr" 2>/dev/null
      openssl x509 -req -sha256 -days "$days" -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -extfile client.ext -out "$name.crt" 2>/dev/null
    done
    chmod 600 ./*.key
  )
}
