<?php
/**
 * What the plugin signs, with no WordPress call in it (so it can be tested with plain php).
 *
 * Both formats are read by Storecare in Python, and tests compute them here and check them there:
 * - the shopper token, plugin/storefront/identity.py:
 *   v1.<base64url("domain\ncustomer_id\nexpires"), no padding>.<hex HMAC-SHA256 of "v1.<payload>">
 * - the "Open Storecare" link, plugin/security.py verify_wordpress_sign_in:
 *   hex HMAC-SHA256 of "storecare-admin|<domain>|<unix time>"
 * The key of both is the storefront secret, which never leaves the server except to Storecare.
 *
 * @package Storecare
 */

defined( 'ABSPATH' ) || exit;

/**
 * Pure signing helpers.
 */
final class Storecare_Signing {

	const TOKEN_VERSION = 'v1';
	const TOKEN_TTL     = 540; // seconds; Storecare accepts at most 10 minutes (+30 s of clock skew).

	/**
	 * The key Storecare knows the store by: host[:port][/path] of the home URL, lower case, without
	 * the scheme's default port or a trailing slash, each path segment percent-encoded one way. Two
	 * sites of a multisite in sub-folders are two stores. Python's adapters/woocommerce/auth.py
	 * store_key() computes the same; tests hold the two equal.
	 *
	 * @param string $home_url The site's home URL.
	 * @return string
	 */
	public static function shop_domain( $home_url ) {
		$parts = parse_url( trim( (string) $home_url ) );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
			return '';
		}
		$host   = strtolower( rtrim( $parts['host'], '.' ) );
		$scheme = isset( $parts['scheme'] ) ? strtolower( $parts['scheme'] ) : 'https';
		if ( isset( $parts['port'] ) ) {
			$default = ( 'https' === $scheme ) ? 443 : 80;
			if ( (int) $parts['port'] !== $default ) {
				$host .= ':' . (int) $parts['port'];
			}
		}
		$segments = explode( '/', isset( $parts['path'] ) ? $parts['path'] : '' );
		$path     = rtrim( implode( '/', array_map( 'rawurlencode', array_map( 'rawurldecode', $segments ) ) ), '/' );
		return $host . strtolower( $path );
	}

	/**
	 * A shopper token for one customer (an empty id: a guest) of one shop.
	 *
	 * @param string $secret      The storefront secret.
	 * @param string $domain      The shop domain (see shop_domain()).
	 * @param string $customer_id The WooCommerce customer (WordPress user) id, or ''.
	 * @param int    $expires     Unix time the token stops being valid.
	 * @return string
	 */
	public static function shopper_token( $secret, $domain, $customer_id, $expires ) {
		$payload = self::base64url( $domain . "\n" . $customer_id . "\n" . (int) $expires );
		$message = self::TOKEN_VERSION . '.' . $payload;
		return $message . '.' . hash_hmac( 'sha256', $message, $secret );
	}

	/**
	 * The signature of an "Open Storecare" link.
	 *
	 * @param string $secret    The storefront secret.
	 * @param string $domain    The shop domain.
	 * @param int    $timestamp Unix time the link is made.
	 * @return string
	 */
	public static function admin_link_signature( $secret, $domain, $timestamp ) {
		return hash_hmac( 'sha256', 'storecare-admin|' . $domain . '|' . (int) $timestamp, $secret );
	}

	/**
	 * The "Open Storecare" link itself.
	 *
	 * @param string $app_url   Storecare's address.
	 * @param string $secret    The storefront secret.
	 * @param string $domain    The shop domain.
	 * @param int    $timestamp Unix time the link is made.
	 * @return string
	 */
	public static function admin_link( $app_url, $secret, $domain, $timestamp ) {
		$query = http_build_query(
			array(
				'shop' => $domain,
				'ts'   => (int) $timestamp,
				'sig'  => self::admin_link_signature( $secret, $domain, $timestamp ),
			),
			'',
			'&',
			PHP_QUERY_RFC3986
		);
		return rtrim( $app_url, '/' ) . '/admin/auth/woocommerce?' . $query;
	}

	/**
	 * A new storefront secret: 64 hex characters from the system's CSPRNG.
	 *
	 * @return string
	 */
	public static function new_secret() {
		return bin2hex( random_bytes( 32 ) );
	}

	/**
	 * Base64url without padding.
	 *
	 * @param string $data Bytes.
	 * @return string
	 */
	private static function base64url( $data ) {
		return rtrim( strtr( base64_encode( $data ), '+/', '-_' ), '=' );
	}
}
