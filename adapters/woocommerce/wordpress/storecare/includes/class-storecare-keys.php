<?php
/**
 * Deleting API keys WooCommerce created for Storecare, which WooCommerce's REST API cannot do.
 *
 * Storecare calls POST /wp-json/wc-storecare/v1/keys/revoke {"key_id": N} with a key of this store
 * (WooCommerce authenticates the "wc-" namespace with its API keys): after a reconnect, to delete the
 * key the new one replaced, or to delete the key of a connection it did not use. A key is deleted only
 * if WooCommerce created it for Storecare (its description begins "<app name> - API (", as
 * /wc-auth/v1/authorize writes it) and it belongs to the calling key's user or to a user that user may
 * edit: WooCommerce's own rule for its Revoke link. The answer's status is "revoked", "absent" (no such
 * key), "refused" or "failed".
 *
 * No WordPress call in this class: the database and the capability check are handed in, so tests run
 * it with plain php.
 *
 * @package Storecare
 */

defined( 'ABSPATH' ) || exit;

/**
 * Storecare's API keys in WooCommerce.
 */
final class Storecare_Keys {

	/**
	 * Delete one of Storecare's keys.
	 *
	 * @param object   $db       The database ($wpdb: prefix, prepare, get_row, delete).
	 * @param int      $key_id   The key to delete.
	 * @param int      $user_id  The user of the key this request is authenticated with.
	 * @param callable $can_edit Whether that user may edit another user (current_user_can( 'edit_user', $id )).
	 * @param string   $app_name The app name Storecare's keys are created under.
	 * @return string "revoked", "absent", "refused" or "failed".
	 */
	public static function revoke( $db, $key_id, $user_id, $can_edit, $app_name ) {
		$key_id  = (int) $key_id;
		$user_id = (int) $user_id;
		if ( $key_id <= 0 || $user_id <= 0 || '' === (string) $app_name ) {
			return 'refused';
		}
		$table = $db->prefix . 'woocommerce_api_keys';
		$row   = $db->get_row( $db->prepare( "SELECT key_id, user_id, description FROM {$table} WHERE key_id = %d", $key_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- the table name is ours.
		if ( ! is_array( $row ) ) {
			return 'absent';
		}
		$owner = (int) $row['user_id'];
		if ( 0 !== strpos( (string) $row['description'], $app_name . ' - API (' ) ) {
			return 'refused'; // Not a key WooCommerce made for Storecare.
		}
		if ( $owner !== $user_id && ! call_user_func( $can_edit, $owner ) ) {
			return 'refused';
		}
		$deleted = $db->delete( $table, array( 'key_id' => $key_id ), array( '%d' ) );
		return ( false === $deleted ) ? 'failed' : 'revoked';
	}
}
