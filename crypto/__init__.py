"""Candor's cryptography: a pure library over ``cryptography`` and ``argon2-cffi``.

Bytes in, bytes out. It never imports the web application or the database layer and never logs.
"""

from crypto.backup import BackupEncryptor, backup_key_id, decrypt_backup_chunks
from crypto.codes import (
    PASSPHRASE_WORDS,
    format_receipt_code,
    generate_passphrase,
    generate_receipt_code,
    lookup_hmac,
    normalize_passphrase,
    normalize_receipt_code,
    passphrase_entropy_bits,
    receipt_delay_key,
)
from crypto.errors import (
    BackupKeyMismatchError,
    CryptoError,
    DecryptionError,
    IntegrityCheckError,
    InvalidReceiptCodeError,
    InvalidRecoveryKeyError,
    UnsupportedFormatError,
)
from crypto.integrity import integrity_tag, verify_tag
from crypto.kdf import (
    PRODUCTION,
    PROFILES,
    TEST,
    Argon2Profile,
    DerivedKeys,
    derive_keys,
    new_salt,
    verifier_matches,
)
from crypto.padding import bucket, padme
from crypto.recovery import generate_recovery_key, parse_recovery_key
from crypto.sealing import (
    KeyPair,
    generate_keypair,
    open_sealed,
    public_key_from_private,
    seal,
    sealed_size,
)
from crypto.stream import (
    CHUNK_SIZE,
    StreamEncryptor,
    decrypt_chunks,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    new_file_key,
    padded_size,
)
from crypto.visits import open_visits, seal_visits
from crypto.wrapping import (
    blob_profile,
    derive_for_blob,
    unwrap_with_key,
    unwrap_with_keys,
    unwrap_with_secret,
    wrap_with_key,
    wrap_with_secret,
    wrap_with_secret_keys,
)

__all__ = [
    "CHUNK_SIZE",
    "PASSPHRASE_WORDS",
    "PRODUCTION",
    "PROFILES",
    "TEST",
    "Argon2Profile",
    "BackupEncryptor",
    "BackupKeyMismatchError",
    "CryptoError",
    "DecryptionError",
    "DerivedKeys",
    "IntegrityCheckError",
    "InvalidReceiptCodeError",
    "InvalidRecoveryKeyError",
    "KeyPair",
    "StreamEncryptor",
    "UnsupportedFormatError",
    "backup_key_id",
    "blob_profile",
    "bucket",
    "decrypt_backup_chunks",
    "decrypt_chunks",
    "decrypt_stream",
    "derive_for_blob",
    "derive_keys",
    "encrypt_stream",
    "encrypted_size",
    "format_receipt_code",
    "generate_keypair",
    "generate_passphrase",
    "generate_receipt_code",
    "generate_recovery_key",
    "integrity_tag",
    "lookup_hmac",
    "new_file_key",
    "new_salt",
    "normalize_passphrase",
    "normalize_receipt_code",
    "open_sealed",
    "open_visits",
    "padded_size",
    "padme",
    "parse_recovery_key",
    "passphrase_entropy_bits",
    "public_key_from_private",
    "receipt_delay_key",
    "seal",
    "seal_visits",
    "sealed_size",
    "unwrap_with_key",
    "unwrap_with_keys",
    "unwrap_with_secret",
    "verifier_matches",
    "verify_tag",
    "wrap_with_key",
    "wrap_with_secret",
    "wrap_with_secret_keys",
]
