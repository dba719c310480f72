mod nist;
