/*
 * proto.h - IKEv2 wire constants (RFC 7296 §3 and the IANA registries).
 */
#ifndef VTI_IKE_PROTO_H
#define VTI_IKE_PROTO_H

#define IKE_HDR_LEN 28
#define IKE_VERSION 0x20		/* major 2, minor 0 */
#define IKE_MAX_MSG 65535

enum ike_exchange {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	CREATE_CHILD_SA = 36,
	INFORMATIONAL = 37,
};

enum ike_flag {
	IKE_FLAG_INITIATOR = 0x08,
	IKE_FLAG_VERSION = 0x10,
	IKE_FLAG_RESPONSE = 0x20,
};

enum ike_payload_type {
	PL_NONE = 0,
	PL_SA = 33,
	PL_KE = 34,
	PL_IDI = 35,
	PL_IDR = 36,
	PL_CERT = 37,
	PL_CERTREQ = 38,
	PL_AUTH = 39,
	PL_NONCE = 40,
	PL_NOTIFY = 41,
	PL_DELETE = 42,
	PL_VENDOR = 43,
	PL_TSI = 44,
	PL_TSR = 45,
	PL_SK = 46,
	PL_CP = 47,
	PL_EAP = 48,
	PL_SKF = 53,
};

enum ike_protocol { PROTO_IKE = 1, PROTO_AH = 2, PROTO_ESP = 3 };

enum ike_transform_type {
	TT_ENCR = 1,
	TT_PRF = 2,
	TT_INTEG = 3,
	TT_DH = 4,
	TT_ESN = 5,
};

#define ATTR_KEY_LENGTH 14		/* TV format: 0x800e */

enum ike_notify_type {
	/* errors */
	N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	N_INVALID_IKE_SPI = 4,
	N_INVALID_MAJOR_VERSION = 5,
	N_INVALID_SYNTAX = 7,
	N_INVALID_MESSAGE_ID = 9,
	N_INVALID_SPI = 11,
	N_NO_PROPOSAL_CHOSEN = 14,
	N_INVALID_KE_PAYLOAD = 17,
	N_AUTHENTICATION_FAILED = 24,
	N_SINGLE_PAIR_REQUIRED = 34,
	N_NO_ADDITIONAL_SAS = 35,
	N_INTERNAL_ADDRESS_FAILURE = 36,
	N_FAILED_CP_REQUIRED = 37,
	N_TS_UNACCEPTABLE = 38,
	N_INVALID_SELECTORS = 39,
	N_TEMPORARY_FAILURE = 43,
	N_CHILD_SA_NOT_FOUND = 44,
	/* status */
	N_INITIAL_CONTACT = 16384,
	N_NAT_DETECTION_SOURCE_IP = 16388,
	N_NAT_DETECTION_DESTINATION_IP = 16389,
	N_COOKIE = 16390,
	N_USE_TRANSPORT_MODE = 16391,
	N_REKEY_SA = 16393,
	N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,	/* RFC 7383 §2.3 */
	/* RFC 8784 §3: post-quantum preshared keys */
	N_USE_PPK = 16435,
	N_PPK_IDENTITY = 16436,
	N_NO_PPK_AUTH = 16437,
	N_SIGNATURE_HASH_ALGORITHMS = 16431,	/* RFC 7427 §4 */
};

enum ike_id_type {
	ID_IPV4_ADDR = 1,
	ID_FQDN = 2,
	ID_RFC822_ADDR = 3,
	ID_IPV6_ADDR = 5,
	ID_DER_ASN1_DN = 9,
	ID_KEY_ID = 11,
};

enum ike_auth_method { AUTH_RSA_SIG = 1, AUTH_SHARED_KEY_MIC = 2, AUTH_ECDSA_256 = 9,
		       AUTH_ECDSA_384 = 10, AUTH_ECDSA_521 = 11, AUTH_DIGITAL_SIG = 14 };

/* RFC 7296 §3.6 Certificate Encoding: X.509 Certificate - Signature */
#define CERT_X509_SIG 4

enum ike_ts_type { TS_IPV4_ADDR_RANGE = 7, TS_IPV6_ADDR_RANGE = 8 };

/* Configuration payloads (RFC 7296 §3.15): the types and the attributes
 * that vti uses to ask for and hand out inner addresses. */
enum ike_cfg_type { CFG_REQUEST = 1, CFG_REPLY = 2, CFG_SET = 3, CFG_ACK = 4 };
enum ike_cfg_attr {
	CFG_INTERNAL_IP4_ADDRESS = 1,
	CFG_INTERNAL_IP4_NETMASK = 2,
	CFG_INTERNAL_IP6_ADDRESS = 8,
};

#endif
