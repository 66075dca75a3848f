<?php
/**
 * The storefront: Storecare's loader on every page, and the two REST routes.
 *
 * The loader tag is the same for every visitor (shop, API, locale, where to fetch a token, where to
 * sign in), so full-page caches may keep it. Who the shopper is travels only in answers fetched when
 * the widget opens, never cached: admin-ajax.php?action=storecare_nonce gives a signed-in shopper
 * WordPress's REST nonce and a guest an empty answer (the loader then shows the sign-in prompt and
 * asks Storecare nothing; WordPress's own rest-nonce action answers a guest 400); with the nonce,
 * GET /wp-json/storecare/v1/shopper-token (cookie authentication needs the X-WP-Nonce header) hands
 * over a token that lives nine minutes.
 *
 * GET /wp-json/wc-storecare/v1/connection is for Storecare: the "wc-" namespace makes WooCommerce
 * authenticate it with the store's API keys, which Storecare holds once the merchant approved it;
 * it hands over the storefront secret that signs tokens and "Open Storecare" links, and so marks the
 * plugin connected. POST /wp-json/wc-storecare/v1/keys/revoke deletes a key WooCommerce created for
 * Storecare (see class-storecare-keys.php): WooCommerce's REST API has no way to.
 *
 * @package Storecare
 */

defined( 'ABSPATH' ) || exit;

/**
 * Storefront hooks.
 */
final class Storecare_Storefront {

	const HANDLE = 'storecare-loader';

	const NONCE_ACTION = 'storecare_nonce';

	/**
	 * Hook in.
	 */
	public static function init() {
		add_action( 'wp_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		add_filter( 'script_loader_tag', array( __CLASS__, 'tag' ), 10, 2 );
		add_action( 'rest_api_init', array( __CLASS__, 'routes' ) );
		add_action( 'wp_ajax_' . self::NONCE_ACTION, array( __CLASS__, 'rest_nonce' ) );
		add_action( 'wp_ajax_nopriv_' . self::NONCE_ACTION, array( __CLASS__, 'rest_nonce' ) );
		add_action( 'woocommerce_single_product_summary', array( __CLASS__, 'earn_on_product' ), 11 );
		add_action( 'woocommerce_proceed_to_checkout', array( __CLASS__, 'earn_in_cart' ), 5 );
	}

	/**
	 * "Earn N points" under a product's price: the place of Storecare's "earn" widget, which the loader
	 * loads when it comes into view (nothing shows while the shop's loyalty program is off).
	 */
	public static function earn_on_product() {
		global $product;
		if ( ! get_option( STORECARE_OPTION_CONNECTED ) || ! is_object( $product ) || ! function_exists( 'wc_get_price_to_display' ) ) {
			return;
		}
		echo self::earn_block( wc_get_price_to_display( $product ) ); // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in earn_block.
	}

	/**
	 * "Earn N points" above the cart's checkout button, for the cart's total.
	 */
	public static function earn_in_cart() {
		if ( ! get_option( STORECARE_OPTION_CONNECTED ) || ! function_exists( 'WC' ) || ! WC()->cart ) {
			return;
		}
		echo self::earn_block( WC()->cart->get_total( 'edit' ) ); // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in earn_block.
	}

	/**
	 * The block's markup for an amount in the shop's currency; its line is reserved, so the text arriving
	 * moves nothing. Empty for no amount.
	 *
	 * @param mixed $amount The amount (a number or a numeric string).
	 * @return string
	 */
	public static function earn_block( $amount ) {
		$amount = is_numeric( $amount ) ? (float) $amount : 0.0;
		if ( $amount <= 0 ) {
			return '';
		}
		return '<div class="storecare-earn" data-storecare-widget="earn" data-amount="'
			. esc_attr( number_format( $amount, 2, '.', '' ) ) . '" style="min-height:1.4em"></div>';
	}

	/**
	 * The loader, async and in the footer: it never delays the page.
	 */
	public static function enqueue() {
		if ( ! get_option( STORECARE_OPTION_CONNECTED ) ) {
			return; // Nothing to show until Storecare knows the store.
		}
		wp_enqueue_script(
			self::HANDLE,
			storecare_app_url() . '/static/loader.js',
			array(),
			STORECARE_VERSION,
			array(
				'strategy'  => 'async',
				'in_footer' => true,
			)
		);
	}

	/**
	 * The loader's data-storecare-* attributes (read by static/loader.js).
	 *
	 * @param string $tag    The script tag.
	 * @param string $handle The script handle.
	 * @return string
	 */
	public static function tag( $tag, $handle ) {
		if ( self::HANDLE !== $handle ) {
			return $tag;
		}
		$attributes = array(
			'data-storecare-shop'      => storecare_shop_domain(),
			'data-storecare-api'       => storecare_app_url() . '/storefront/api/v1',
			'data-storecare-locale'    => determine_locale(),
			'data-storecare-token-url' => rest_url( 'storecare/v1/shopper-token' ),
			'data-storecare-nonce-url' => admin_url( 'admin-ajax.php?action=' . self::NONCE_ACTION ),
			'data-storecare-login-url' => esc_url_raw( self::login_url() ),
		);
		$html = '';
		foreach ( $attributes as $name => $value ) {
			$html .= ' ' . $name . '="' . esc_attr( $value ) . '"';
		}
		$position = strpos( $tag, '<script' );
		if ( false === $position ) {
			return $tag;
		}
		return substr_replace( $tag, '<script' . $html, $position, strlen( '<script' ) );
	}

	/**
	 * Where a shopper signs in: WooCommerce's My account page, else WordPress's login.
	 *
	 * @return string
	 */
	public static function login_url() {
		if ( function_exists( 'wc_get_page_id' ) && wc_get_page_id( 'myaccount' ) > 0 ) {
			return wc_get_page_permalink( 'myaccount' );
		}
		return wp_login_url();
	}

	/**
	 * The REST nonce of the signed-in shopper; for a guest, an empty answer (200): nobody to ask a
	 * token for. Never cached.
	 */
	public static function rest_nonce() {
		nocache_headers();
		header( 'Content-Type: text/plain; charset=utf-8' );
		echo is_user_logged_in() ? esc_html( wp_create_nonce( 'wp_rest' ) ) : '';
		wp_die( '', '', array( 'response' => 200 ) );
	}

	/**
	 * Register the routes.
	 */
	public static function routes() {
		register_rest_route(
			'storecare/v1',
			'/shopper-token',
			array(
				'methods'             => 'GET',
				'callback'            => array( __CLASS__, 'shopper_token' ),
				'permission_callback' => 'is_user_logged_in', // Cookie auth: only with a valid X-WP-Nonce.
			)
		);
		register_rest_route(
			'wc-storecare/v1',
			'/connection',
			array(
				'methods'             => 'GET',
				'callback'            => array( __CLASS__, 'connection' ),
				'permission_callback' => function () {
					return current_user_can( 'manage_woocommerce' );
				},
			)
		);
		register_rest_route(
			'wc-storecare/v1',
			'/keys/revoke',
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'revoke_key' ),
				'permission_callback' => function () {
					return current_user_can( 'manage_woocommerce' );
				},
				'args'                => array(
					'key_id' => array(
						'required' => true,
						'type'     => 'integer',
						'minimum'  => 1,
					),
				),
			)
		);
	}

	/**
	 * A short-lived token naming the logged-in customer.
	 *
	 * @return WP_REST_Response
	 */
	public static function shopper_token() {
		$expires  = time() + Storecare_Signing::TOKEN_TTL;
		$token    = Storecare_Signing::shopper_token( storecare_secret(), storecare_shop_domain(), (string) get_current_user_id(), $expires );
		$response = new WP_REST_Response(
			array(
				'token'      => $token,
				'expires_at' => $expires,
			)
		);
		$response->header( 'Cache-Control', 'no-store, private' );
		return $response;
	}

	/**
	 * For Storecare, authenticated with this store's API keys: the storefront secret.
	 *
	 * @return WP_REST_Response
	 */
	public static function connection() {
		update_option( STORECARE_OPTION_CONNECTED, time(), false );
		$response = new WP_REST_Response(
			array(
				'storefront_secret' => storecare_secret(),
				'shop_domain'       => storecare_shop_domain(),
				'plugin_version'    => STORECARE_VERSION,
			)
		);
		$response->header( 'Cache-Control', 'no-store, private' );
		return $response;
	}

	/**
	 * For Storecare, authenticated with this store's API keys: delete one of Storecare's keys.
	 *
	 * @param WP_REST_Request $request The request: key_id.
	 * @return WP_REST_Response
	 */
	public static function revoke_key( $request ) {
		global $wpdb;
		$key_id   = (int) $request['key_id'];
		$status   = Storecare_Keys::revoke(
			$wpdb,
			$key_id,
			get_current_user_id(),
			function ( $user_id ) {
				return current_user_can( 'edit_user', $user_id );
			},
			storecare_app_name()
		);
		$response = new WP_REST_Response(
			array(
				'key_id' => $key_id,
				'status' => $status,
			)
		);
		$response->header( 'Cache-Control', 'no-store, private' );
		return $response;
	}
}
