<?php
/**
 * Plugin Name:          Storecare for WooCommerce
 * Plugin URI:           https://storecare.app
 * Description:          Connects your store to Storecare and loads its storefront widgets (orders, loyalty, returns, chat) without slowing your pages.
 * Version:              0.1.0
 * Requires at least:    6.3
 * Requires PHP:         7.4
 * Requires Plugins:     woocommerce
 * WC requires at least: 7.0
 * Author:               Storecare
 * License:              GPL-2.0-or-later
 * Text Domain:          storecare
 *
 * @package Storecare
 */

defined( 'ABSPATH' ) || exit;

define( 'STORECARE_VERSION', '0.1.0' );
define( 'STORECARE_OPTION_APP_URL', 'storecare_app_url' );
define( 'STORECARE_OPTION_SECRET', 'storecare_storefront_secret' );
define( 'STORECARE_OPTION_CONNECTED', 'storecare_connected_at' );

if ( file_exists( __DIR__ . '/config.php' ) ) {
	require_once __DIR__ . '/config.php'; // Written into the zip Storecare serves: its own address.
}
if ( ! defined( 'STORECARE_DEFAULT_APP_URL' ) ) {
	define( 'STORECARE_DEFAULT_APP_URL', 'https://app.storecare.app' );
}
if ( ! defined( 'STORECARE_APP_NAME' ) ) {
	define( 'STORECARE_APP_NAME', 'Storecare' ); // The name WooCommerce's keys for Storecare are created under.
}

require_once __DIR__ . '/includes/class-storecare-signing.php';
require_once __DIR__ . '/includes/class-storecare-keys.php';
require_once __DIR__ . '/includes/class-storecare-connection.php';
require_once __DIR__ . '/includes/class-storecare-admin.php';
require_once __DIR__ . '/includes/class-storecare-storefront.php';

/**
 * The storefront secret, created on first use (activation normally does it).
 *
 * @return string
 */
function storecare_secret() {
	$secret = get_option( STORECARE_OPTION_SECRET );
	if ( ! is_string( $secret ) || strlen( $secret ) < 32 ) {
		$secret = Storecare_Signing::new_secret();
		update_option( STORECARE_OPTION_SECRET, $secret, false ); // Not autoloaded: read only when needed.
	}
	return $secret;
}

/**
 * Storecare's address, without a trailing slash.
 *
 * @return string
 */
function storecare_app_url() {
	$url = get_option( STORECARE_OPTION_APP_URL, STORECARE_DEFAULT_APP_URL );
	return rtrim( is_string( $url ) && '' !== $url ? $url : STORECARE_DEFAULT_APP_URL, '/' );
}

/**
 * The app name Storecare's API keys are created under ("<name> - API (date)" in WooCommerce).
 *
 * @return string
 */
function storecare_app_name() {
	return (string) STORECARE_APP_NAME;
}

/**
 * Whether plain http may be used to talk to Storecare (local demos only).
 *
 * @return bool
 */
function storecare_allows_http() {
	return defined( 'STORECARE_ALLOW_HTTP' ) && STORECARE_ALLOW_HTTP;
}

/**
 * The domain Storecare knows this store by.
 *
 * @return string
 */
function storecare_shop_domain() {
	return Storecare_Signing::shop_domain( home_url( '/' ) );
}

/**
 * Activation: the storefront secret, and a hello to Storecare in case it connected this store already.
 */
function storecare_activate() {
	storecare_secret();
	Storecare_Connection::say_hello();
}

register_activation_hook( __FILE__, 'storecare_activate' );

add_action(
	'plugins_loaded',
	function () {
		if ( ! class_exists( 'WooCommerce' ) ) {
			return;
		}
		Storecare_Admin::init();
		Storecare_Storefront::init();
	}
);
