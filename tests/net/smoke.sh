#!/bin/bash
. "$(dirname "$0")/lib.sh"
ns_add a; ns_add b; link_ab a b
KA=$(key 20 ab); KB=$(key 20 ba)
cat > $VT_TMP/a.conf <<C
[tunnel sti0]
local = 192.0.2.1
remote = 192.0.2.2
address = 10.255.0.1/30, fd00:255::1/64
mode = manual
esp = aes128gcm16
spi-in = 0x1001
spi-out = 0x2001
key-in = $KB
key-out = $KA
C
cat > $VT_TMP/b.conf <<C
[tunnel sti0]
local = 192.0.2.2
remote = 192.0.2.1
address = 10.255.0.2/30, fd00:255::2/64
mode = manual
esp = aes128gcm16
spi-in = 0x2001
spi-out = 0x1001
key-in = $KA
key-out = $KB
C
start_vtid a $VT_TMP/a.conf
start_vtid b $VT_TMP/b.conf

ping_ok a 10.255.0.2 || { vtictl a show; vtictl b show; vtictl a stats; vtictl b stats; in_ns a ip addr; in_ns a ip route; fail ping4; }
ping_ok a fd00:255::2 || fail ping6
vtictl a show
vtictl a -j show
stop_vtid a; stop_vtid b
pass smoke
