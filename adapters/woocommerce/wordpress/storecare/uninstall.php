<?php
/**
 * Uninstall: forget Storecare's address, the storefront secret and the connection date.
 * (The API key and webhooks live in WooCommerce: revoke them under WooCommerce > Settings > Advanced.)
 *
 * @package Storecare
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

foreach ( array( 'storecare_app_url', 'storecare_storefront_secret', 'storecare_connected_at' ) as $storecare_option ) {
	delete_option( $storecare_option );
}
delete_transient( 'storecare_hello' );
