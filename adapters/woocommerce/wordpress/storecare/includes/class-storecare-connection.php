<?php
/**
 * Asking Storecare whether this store is connected already (a store connected from Storecare's admin
 * before this plugin was installed).
 *
 * The plugin counts itself connected once Storecare reads its key-authenticated "connection" route.
 * When it is not (its settings page is opened, or it is activated), it says hello: a POST of this
 * store's home URL to Storecare's /connect/woocommerce/hello, at most once a minute, without waiting
 * for the answer. Storecare trusts nothing in it: if it holds keys for this store, it reads the
 * "connection" route with them, which marks the plugin connected. The request itself is built by a
 * pure function, so tests compute it with plain php and send it to Storecare.
 *
 * @package Storecare
 */

defined( 'ABSPATH' ) || exit;

/**
 * The hello to Storecare.
 */
final class Storecare_Connection {

	const HELLO_PATH      = '/connect/woocommerce/hello';
	const HELLO_TRANSIENT = 'storecare_hello';
	const HELLO_EVERY     = 60; // seconds.

	/**
	 * The hello request: where it goes and wp_remote_post's arguments.
	 *
	 * @param string $app_url  Storecare's address.
	 * @param string $home_url This site's home_url( '/' ).
	 * @return array{url: string, args: array}
	 */
	public static function hello_request( $app_url, $home_url ) {
		return array(
			'url'  => rtrim( $app_url, '/' ) . self::HELLO_PATH,
			'args' => array(
				'timeout'  => 5,
				'blocking' => false, // Storecare answers 202 whatever it finds: nothing to wait for.
				'headers'  => array( 'Accept' => 'application/json' ),
				'body'     => array( 'store_url' => $home_url ),
			),
		);
	}

	/**
	 * Say hello unless connected; at most once a minute. Returns whether a hello is under way (sent
	 * now or within the last minute), so the settings page can say it is checking.
	 *
	 * @return bool
	 */
	public static function say_hello() {
		if ( get_option( STORECARE_OPTION_CONNECTED ) ) {
			return false;
		}
		if ( get_transient( self::HELLO_TRANSIENT ) ) {
			return true;
		}
		$app = storecare_app_url();
		if ( 0 !== strpos( $app, 'https://' ) && ! storecare_allows_http() ) {
			return false;
		}
		set_transient( self::HELLO_TRANSIENT, 1, self::HELLO_EVERY );
		$request = self::hello_request( $app, home_url( '/' ) );
		wp_remote_post( $request['url'], $request['args'] );
		return true;
	}
}
