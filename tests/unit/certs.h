/*
 * certs.h - fixed PEM test material, made once with OpenSSL 3.0 for the unit
 * tests (not secret: used nowhere else): an Ed25519 key, its self-signed
 * certificate (subject C=CH, O=vti test, CN=unit; subjectAltName
 * DNS:unit.example, email:u@unit.example, IP:192.0.2.7; keyUsage
 * digitalSignature; valid for 100 years), and a second, unrelated key.
 */
static const char UNIT_KEY[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIO8z1Ly75PL9qmDHgbRbNTMvjSTOXxv3lsJu4NCkUsWb\n"
	"-----END PRIVATE KEY-----\n";
static const char UNIT_CERT[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBszCCAWWgAwIBAgIUBRGBnVwDtlTj3zGgsmfqjKYFggIwBQYDK2VwMC8xCzAJ\n"
	"BgNVBAYTAkNIMREwDwYDVQQKDAh2dGkgdGVzdDENMAsGA1UEAwwEdW5pdDAgFw0y\n"
	"NjExMzAwNjQ0MTRaGA8yMTI2MTEwNjA2NDQxNFowLzELMAkGA1UEBhMCQ0gxETAP\n"
	"BgNVBAoMCHZ0aSB0ZXN0MQ0wCwYDVQQDDAR1bml0MCowBQYDK2VwAyEAZQ177E42\n"
	"cO7HqhRnN8XrI3RU6HZZ83t2pl1+VSg/+kSjgZAwgY0wHQYDVR0OBBYEFLJszDxR\n"
	"NwtMKSMkM+HFPPOsGPZyMB8GA1UdIwQYMBaAFLJszDxRNwtMKSMkM+HFPPOsGPZy\n"
	"MA8GA1UdEwEB/wQFMAMBAf8wLQYDVR0RBCYwJIIMdW5pdC5leGFtcGxlgQ51QHVu\n"
	"aXQuZXhhbXBsZYcEwAACBzALBgNVHQ8EBAMCB4AwBQYDK2VwA0EAvYHi5QxkCp9u\n"
	"CvdSny97jAxmm5tc7tkCeSBuv/jj0WImxr17ZwHhF0VkvMncAbpa23l7zKLs+eLX\n"
	"5lkXOqa6Ag==\n"
	"-----END CERTIFICATE-----\n";
static const char OTHER_KEY[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIPCjSir1WsF/c+2Dklqv/ky81ZoedVy27N8iWcKYO3Cz\n"
	"-----END PRIVATE KEY-----\n";
